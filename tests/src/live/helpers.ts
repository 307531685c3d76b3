import { expect } from 'vitest';
import type { Actor, CommandReply, LiveLinkReply } from '@tether/contracts';
import { readActor } from '@tether/projector';
import { sendCommand, type JetStreamEventStore } from '@tether/runtime';
import type { startServer } from '@tether/cli';
import { asActor, type Tether } from '../harness/index.ts';
import { roleOf } from '../sharing/helpers.ts';

/** A tether of the live tests: its URL and token, its NATS store, and the server (for actor reads). */
export interface LiveTether extends Tether {
  ctx: { store: JetStreamEventStore };
  server: Awaited<ReturnType<typeof startServer>>;
}

const _OPS: Actor = { kind: 'human', id: 'ops' };

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
