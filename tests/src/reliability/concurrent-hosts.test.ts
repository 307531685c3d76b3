import { afterAll, describe, expect, it } from 'vitest';
import { bearer, TetherProcess, uid, useNats } from '../harness/index.ts';
import { commandCounts, postCommand, postUntilAnswered } from './helpers.ts';

const ctx = useNats();
const procs: TetherProcess[] = [];
afterAll(async () => Promise.all(procs.map((p) => p.kill())));

describe('(a) two actor-host processes, conflicting commands for one entity at once', () => {
  it('loses no update and forks no history', async () => {
    const [a, b] = await Promise.all([
      TetherProcess.start({ NATS_URL: ctx.nats.url }),
      TetherProcess.start({ NATS_URL: ctx.nats.url }),
    ]);
    procs.push(a, b);
    const id = uid('shared');
    expect(
      await postCommand(a, 'lease', 'create', { entityId: id, data: { holder: 'ann', ttlMs: 3_600_000 } }),
    ).toMatchObject({ ok: true });
    // Warm both processes' caches so their writes really collide.
    await postCommand(b, 'lease', 'renew', { entityId: id });
    const ids = Array.from({ length: 200 }, (_, i) => `race-${id}-${i}`);
    const replies = await Promise.all(
      ids.map((cid, i) => postUntilAnswered(() => (i % 2 ? a : b), 'lease', 'renew', { entityId: id, id: cid })),
    );
    const failed = replies.filter((r) => !r.ok);
    expect(failed).toEqual([]);

    const events = await ctx.store.readEntity('lease', id);
    expect(events.map((e) => e.event.seq)).toEqual(Array.from({ length: 202 }, (_, i) => i + 1));
    const counts = await commandCounts(ctx.store, `tether.evt.lease.${id}`);
    for (const cid of ids) expect(counts.get(cid)).toBe(1);
    const state = (await (await fetch(`${a.url}/v1/entities/lease/${id}`, { headers: bearer(a) })).json()) as {
      context: { renewals: number };
    };
    expect(state.context.renewals).toBe(201);
  });
});
