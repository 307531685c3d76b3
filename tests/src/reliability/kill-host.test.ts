import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { sendCommand } from '@tether/runtime';
import type { CommandReply } from '@tether/contracts';
import { TetherProcess, uid, useNats } from '../harness/index.ts';
import { commandCounts } from './helpers.ts';

const ctx = useNats();
const procs: TetherProcess[] = [];
let nc: NatsConnection | undefined;
/** The first tether's owner token: the credential lives in the stream, so every later host honours it. */
let token = '';
afterAll(async () => {
  await nc?.close();
  await Promise.all(procs.map((p) => p.kill()));
});

/** Resends with the same command id until some host answers: what every tether client should do. */
async function sendWithRetries(entityId: string, id: string): Promise<CommandReply> {
  for (;;) {
    const r = await sendCommand(nc!, 'lease', 'renew', { entityId, id }, { credential: token, timeoutMs: 2_000 });
    if (r.ok || (r.error.code !== 'UNAVAILABLE' && r.error.code !== 'CONFLICT')) return r;
    await new Promise((res) => setTimeout(res, 25));
  }
}

describe('(b) kill -9 of the actor host while a client sends 1,000 commands with retries', () => {
  it('every acknowledged command is in the stream exactly once', async () => {
    procs.push(await TetherProcess.start({ NATS_URL: ctx.nats.url }));
    token ||= procs[0]!.token;
    nc = await connect({ servers: ctx.nats.url });
    const leases = Array.from({ length: 10 }, () => uid('k'));
    for (const id of leases)
      expect(await sendWithRetries(id, `warm-${id}`)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    for (const id of leases)
      expect(
        await sendCommand(
          nc,
          'lease',
          'create',
          { entityId: id, data: { holder: 'ann', ttlMs: 3_600_000 } },
          { credential: token },
        ),
      ).toMatchObject({ ok: true });

    const commands = Array.from({ length: 1_000 }, (_, i) => ({
      entityId: leases[i % leases.length]!,
      id: uid(`k9-${i}`),
    }));
    const acked = new Map<string, CommandReply>();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < commands.length) {
        const c = commands[next++]!;
        acked.set(c.id, await sendWithRetries(c.entityId, c.id));
        if (!killed && acked.size >= 300) {
          killed = true;
          await procs[0]!.kill('SIGKILL'); // mid-flight: other workers have commands outstanding
          procs.push(await TetherProcess.start({ NATS_URL: ctx.nats.url }));
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(killed).toBe(true);
    expect([...acked.values()].filter((r) => !r.ok)).toEqual([]);
    expect(acked.size).toBe(1_000);

    const counts = await commandCounts(ctx.store);
    for (const c of commands) expect([c.id, counts.get(c.id)]).toEqual([c.id, 1]);
    for (const id of leases) {
      const events = await ctx.store.readEntity('lease', id);
      expect(events.map((e) => e.event.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.length).toBe(101);
    }
  });
});
