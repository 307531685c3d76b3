import { expect } from 'vitest';
import type { Actor, CommandReply, LiveLinkReply } from '@tether/contracts';
import { liveSessionIdOf, readActor } from '@tether/projector';
import { sendCommand, type JetStreamEventStore } from '@tether/runtime';
import type { startServer } from '@tether/cli';
import { asActor, uid, type Tether } from '../harness/index.ts';
import { roleOf, runningTerminal } from '../sharing/helpers.ts';

/** A tether of the live tests: its URL and token, its NATS store, and the server (for actor reads). */
export interface LiveTether extends Tether {
  ctx: { store: JetStreamEventStore };
  server: Awaited<ReturnType<typeof startServer>>;
}

const OPS: Actor = { kind: 'human', id: 'ops' };

/**
 * A task run on a real terminal, recorded through its internal steps (the task runner lands separately):
 * queued by human:ops, then started in the terminal's tmux session. `started: false` leaves it queued on
 * a terminal that does not exist yet.
 */
export async function taskRunOn(cp: LiveTether, opts: { started?: boolean } = {}) {
  const runId = uid('tr');
  const { lane, session, term } = await runningTerminal(cp);
  const terminalId = opts.started === false ? uid('t-later') : term.terminal_id;
  const step = (verb: string, data: Record<string, unknown>) =>
    cp.server.host.execute({
      id: uid('cmd'),
      entity: 'taskRun',
      verb,
      entityId: runId,
      data,
      actor: OPS,
      correlationId: uid('corr'),
      causationId: uid('cause'),
    });
  await step('queue', {
    laneId: lane.lane_id,
    name: 'scripted agent',
    command: ['sh', '-c', 'sleep 600'],
    sessionId: session.session_id,
    terminalId,
    live: true,
    correlationId: uid('corr'),
  });
  if (opts.started !== false)
    await step('started', {
      agentPid: process.pid,
      tmuxSession: term.terminal_id,
      inboxPath: '/tmp/inbox.jsonl',
      controlPath: '/tmp/control.json',
    });
  return { runId, liveId: liveSessionIdOf(runId), term, session, lane, step };
}

/** A command over NATS as `actor` ("kind:id", the owner human:ops by default), through the front door. */
export async function command(
  cp: LiveTether,
  entity: string,
  verb: string,
  entityId: string | undefined,
  data: Record<string, unknown> = {},
  actor = 'human:ops',
): Promise<CommandReply & { result?: LiveLinkReply }> {
  const [kind, id] = actor.split(':') as [Actor['kind'], string];
  const credential = actor === 'human:ops' ? cp.token : (await asActor(cp, actor, roleOf(actor))).token;
  return (await sendCommand(
    cp.ctx.store.nc,
    entity,
    verb,
    { entityId, data, actor: { kind, id } },
    { credential, timeoutMs: 30_000 },
  )) as CommandReply & { result?: LiveLinkReply };
}

export const session = (cp: LiveTether, id: string) => readActor(cp.server.host, 'liveSession', id);

/** The accepted reply's result (a failure shows the refusal). */
export function resultOf(r: CommandReply & { result?: LiveLinkReply }): LiveLinkReply {
  expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
  return r.result!;
}

/** Every event in the stream, as JSON text: where a secret must never be. */
export async function streamText(cp: LiveTether): Promise<string> {
  const out: string[] = [];
  for await (const e of cp.ctx.store.readAll()) out.push(JSON.stringify(e));
  return out.join('\n');
}
