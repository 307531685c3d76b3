import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { LaneView, LiveLinkReply, TaskRunView } from '@tether/contracts';
import { api, eventually, type Tether } from '../harness/index.ts';

/** The scripted agent fixture, a fake of an LLM agent (see the file). */
export const AGENT = fileURLToPath(new URL('../../fixtures/scripted-agent.mjs', import.meta.url));
export const agentCommand = (opts: { steps?: number; stepMs?: number; exit?: number; received?: string } = {}) => [
  process.execPath,
  AGENT,
  '--steps',
  String(opts.steps ?? 600),
  '--step-ms',
  String(opts.stepMs ?? 200),
  '--exit',
  String(opts.exit ?? 0),
  ...(opts.received ? ['--received', opts.received] : []),
];
/** What the fixture prints at each step ("step 3/600"): its output reached whoever shows this. */
export const AGENT_STEP = /\bstep \d+\/\d+/;

/** A lane of workspace ws1, once its worktree is ready. */
export async function readyLane(t: Tether, name = 'task') {
  const r = await api(t, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: name });
  expect(r.status).toBe(201);
  const lane = LaneView.parse(r.body);
  await eventually(
    async () => (await api<{ value?: string }>(t, 'GET', `/v1/entities/lane/${lane.lane_id}`)).body.value,
    (v) => v === 'ready',
    30_000,
  );
  return lane;
}

/** A run of the scripted agent in a new lane, with its live session unless `live` is false. */
export async function startRun(t: Tether, opts: { live?: boolean; steps?: number; code?: number; name?: string } = {}) {
  const lane = await readyLane(t);
  const r = await api(t, 'POST', '/v1/task-runs', {
    lane_id: lane.lane_id,
    name: opts.name ?? 'step agent',
    command: agentCommand({ steps: opts.steps, exit: opts.code }),
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
