import { afterAll, beforeAll, expect } from 'vitest';
import { TetherError, type Command } from '@tether/contracts';
import { JetStreamEventStore } from '@tether/runtime';
import { NatsServer } from './nats-server.ts';

/** One real nats-server for the test file, and a store connected to it. */
export function useNats() {
  const ctx = {} as { nats: NatsServer; store: JetStreamEventStore };
  beforeAll(async () => {
    ctx.nats = await NatsServer.start();
    ctx.store = await JetStreamEventStore.open(ctx.nats.url);
  });
  afterAll(async () => {
    await ctx.store?.close();
    await ctx.nats?.dispose();
  });
  return ctx;
}

let n = 0;
export const uid = (p = 'x') => `${p}-${process.pid}-${Date.now().toString(36)}-${(n++).toString(36)}`;

export function cmd(
  entity: string,
  verb: string,
  entityId: string | undefined,
  data: Record<string, unknown> = {},
  id = uid('cmd'),
): Command {
  return { id, entity, verb, entityId, data, actor: { kind: 'human', id: 'ann' }, correlationId: id, causationId: id };
}

export async function eventually<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`not reached within ${timeoutMs} ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The TetherError `p` rejects with (a failure if it resolves, or rejects with something else). */
export async function rejection(p: Promise<unknown>): Promise<TetherError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TetherError);
  return err as TetherError;
}
