import { afterAll, describe, expect, it } from 'vitest';
import type { CommandReply } from '@tether/contracts';
import { TetherProcess, uid, useNats } from '../harness/index.ts';
import { commandCounts, postCommand } from './helpers.ts';

const ctx = useNats();
let tether: TetherProcess | undefined;
afterAll(async () => tether?.kill());

describe('(c) nats-server stops and restarts mid-run', () => {
  it('callers get UNAVAILABLE while it is down, service resumes by itself, nothing acknowledged is lost', async () => {
    tether = await TetherProcess.start({ NATS_URL: ctx.nats.url });
    const id = uid('r');
    expect(
      await postCommand(tether, 'lease', 'create', { entityId: id, data: { holder: 'ann', ttlMs: 3_600_000 } }),
    ).toMatchObject({ ok: true });

    const acked = new Map<string, CommandReply>();
    const duringOutage: { code: string; ms: number }[] = [];
    let down = false;
    let stop = false;
    const client = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const cid = uid(`nr-${i}`);
        for (;;) {
          const t0 = Date.now();
          const r = await postCommand(tether!, 'lease', 'renew', { entityId: id, id: cid }, 20_000);
          if (r.ok) {
            acked.set(cid, r);
            break;
          }
          if (down) duringOutage.push({ code: r.error.code, ms: Date.now() - t0 });
          expect(['UNAVAILABLE', 'CONFLICT']).toContain(r.error.code);
          if (stop) break;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    })();

    await new Promise((r) => setTimeout(r, 1_000));
    const before = acked.size;
    expect(before).toBeGreaterThan(0);
    down = true;
    await ctx.nats.stop();
    const atStop = acked.size;
    await new Promise((r) => setTimeout(r, 4_000));
    const whileDown = acked.size;
    expect(whileDown).toBe(atStop); // nothing can be acknowledged without the server
    await ctx.nats.restart();
    down = false;
    // Resumes by itself: no restart of tether, no action by the client beyond resending.
    const until = Date.now() + 30_000;
    while (acked.size < whileDown + 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await client;

    // Callers hear about the outage promptly and repeatedly, not only after long timeouts.
    expect(duringOutage.length).toBeGreaterThanOrEqual(5);
    expect(duringOutage.every((o) => o.code === 'UNAVAILABLE')).toBe(true);
    expect(acked.size).toBeGreaterThanOrEqual(whileDown + 50);
    expect(tether.alive).toBe(true);

    const counts = await commandCounts(ctx.store, `tether.evt.lease.${id}`);
    for (const cid of acked.keys()) expect([cid, counts.get(cid)]).toEqual([cid, 1]);
    const events = await ctx.store.readEntity('lease', id);
    expect(events.map((e) => e.event.seq)).toEqual(events.map((_, i) => i + 1));
    console.log(
      `nats restart: ${before} acked before, ${atStop - before} while stopping, ${whileDown - atStop} while down, ${acked.size - whileDown} after; ${duringOutage.length} UNAVAILABLE answers, slowest ${Math.max(...duringOutage.map((o) => o.ms))} ms`,
    );
  });
});
