import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { LaneView, LiveLinkReply, TaskRunView } from '@tether/contracts';
import { api, eventually, type Tether } from '../harness/index.ts';

/** The scripted agent fixture: <steps> [exit-code] [step-ms] (see the file). */
export const AGENT = fileURLToPath(new URL('./fixtures/step-agent.mjs', import.meta.url));
export const agentCommand = (steps = 600, code = 0, stepMs = 200) => [
  process.execPath,
  AGENT,
  String(steps),
  String(code),
  String(stepMs),
];

/** A ready lane of workspace ws1. */
export async function readyLane(t: Tether, name = 'task') {
  const r = await api(t, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: name });
  expect(r.status).toBe(201);
  return LaneView.parse(r.body);
}

/** A run of the scripted agent in a new lane, with its live session unless `live` is false. */
export async function startRun(t: Tether, opts: { live?: boolean; steps?: number; code?: number; name?: string } = {}) {
  const lane = await readyLane(t);
  const r = await api(t, 'POST', '/v1/task-runs', {
    lane_id: lane.lane_id,
    name: opts.name ?? 'step agent',
    command: agentCommand(opts.steps, opts.code),
    ...(opts.live === undefined ? {} : { live: opts.live }),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { lane, reply: LiveLinkReply.parse(r.body) };
}

/** The run as GET /v1/task-runs/{id} has it. */
export async function getRun(t: Tether, id: string) {
  const r = await api(t, 'GET', `/v1/task-runs/${id}`);
  expect(r.status).toBe(200);
  return TaskRunView.parse(r.body);
}

/** Waits until the run satisfies `ok`. */
export const runUntil = (t: Tether, id: string, ok: (r: TaskRunView) => boolean, ms = 20_000) =>
  eventually(() => getRun(t, id), ok, ms);
