import { describe, expect, it } from 'vitest';
import { ENVELOPE_VERSION, TetherError, type EventEnvelope } from '@tether/contracts';
import { registry } from '@tether/machines';
import { ActorHost, rebuildActors, type Clock } from '@tether/runtime';
import { cmd, uid, useNats } from '../harness/index.ts';

const ctx = useNats();

/** A clock the test moves by hand, so a lease can become due and a harness can cool down. */
function manualClock(start = Date.parse('2026-01-01T00:00:00.000Z')) {
  let now = start;
  const clock: Clock = { now: () => new Date(now) };
  return {
    clock,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('rebuildActors', () => {
  it('rebuilds every actor of the read range in one pass, equal to what the actor host holds', async () => {
    const from = await ctx.store.lastStreamSeq();
    const { clock, advance } = manualClock();
    const host = new ActorHost({ store: ctx.store, registry, clock });
    const [renewed, released, expired, fresh, route] = [uid('l'), uid('l'), uid('l'), uid('l'), uid('h')];
    await host.execute(cmd('lease', 'create', renewed, { holder: 'ann', ttlMs: 60_000 }));
    await host.execute(cmd('lease', 'create', released, { holder: 'bo', ttlMs: 60_000 }));
    await host.execute(cmd('lease', 'create', expired, { holder: 'cy', ttlMs: 1_000 }));
    await host.execute(cmd('harness', 'configure', route, { url: 'http://127.0.0.1:9/harness', cooldownMs: 1_000 }));
    for (let i = 0; i < 3; i++) {
      advance(500);
      await host.execute(cmd('lease', 'renew', renewed));
    }
    await host.execute(cmd('lease', 'release', released, { reason: 'done' }));
    await host.execute(cmd('lease', 'expire', expired));
    await host.execute(cmd('harness', 'status.changed', route, { status: 'healthy' }));
    await host.execute(cmd('harness', 'status.changed', route, { status: 'unavailable', reason: 'timeout' }));
    await host.execute(cmd('lease', 'create', fresh, { holder: 'di' }));

    const actors = await rebuildActors(ctx.store, registry, { afterStreamSeq: from });
    const ids: Array<[string, string]> = [
      ['lease', renewed],
      ['lease', released],
      ['lease', expired],
      ['lease', fresh],
      ['harness', route],
    ];
    expect([...actors.keys()].sort()).toEqual(ids.map(([e, id]) => `${e}.${id}`).sort());
    for (const [entity, id] of ids) expect(actors.get(`${entity}.${id}`)).toEqual(await host.state(entity, id));
    expect(actors.get(`lease.${renewed}`)).toMatchObject({ version: 4, value: 'held', context: { renewals: 3 } });
    expect(actors.get(`lease.${expired}`)?.value).toBe('expired');
    expect(actors.get(`harness.${route}`)).toMatchObject({
      version: 3,
      value: 'unavailable',
      context: { degradeReason: 'timeout' },
    });

    // A filter narrows the pass to one entity type.
    const leases = await rebuildActors(ctx.store, registry, { afterStreamSeq: from, filter: 'tether.evt.lease.*' });
    expect([...leases.keys()].every((k) => k.startsWith('lease.'))).toBe(true);
    expect(leases.size).toBe(4);
  });

  it('continues from saved actors (a checkpoint) and refuses to start an actor in the middle of its history', async () => {
    const from = await ctx.store.lastStreamSeq();
    const host = new ActorHost({ store: ctx.store, registry });
    const id = uid('l');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 60_000 }));
    await host.execute(cmd('lease', 'renew', id));
    const checkpoint = await rebuildActors(ctx.store, registry, { afterStreamSeq: from });
    const at = checkpoint.get(`lease.${id}`)!.streamSeq;
    await host.execute(cmd('lease', 'renew', id));
    await host.execute(cmd('lease', 'release', id, { reason: 'done' }));

    const continued = await rebuildActors(ctx.store, registry, { afterStreamSeq: at, from: checkpoint.values() });
    expect(continued.get(`lease.${id}`)).toEqual(await host.state('lease', id));
    expect(continued.get(`lease.${id}`)).toMatchObject({ version: 4, value: 'released' });

    const err = await rebuildActors(ctx.store, registry, { afterStreamSeq: at }).catch((e) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect(err).toMatchObject({ code: 'INTERNAL' });
    expect(err.message).toMatch(/expected version 1, read 3/);
  });

  it('stops with INTERNAL at a stored event the machine refuses, as applyEvent does', async () => {
    const from = await ctx.store.lastStreamSeq();
    const host = new ActorHost({ store: ctx.store, registry });
    const id = uid('l');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 60_000 }));
    const released = await host.execute(cmd('lease', 'release', id, { reason: 'done' }));
    // A renew after the release, as an incompatible machine change would leave in the log.
    const bad: EventEnvelope = {
      id: uid('e'),
      type: 'lease.renew',
      entity: 'lease',
      entityId: id,
      seq: 3,
      at: new Date().toISOString(),
      correlationId: 'c',
      causationId: uid('cmd'),
      actor: { kind: 'human', id: 'ann' },
      data: {},
      state: 'held',
      v: ENVELOPE_VERSION,
    };
    await ctx.store.append(bad, { expectedLastSeq: released.streamSeq, msgId: bad.causationId });

    const err = await rebuildActors(ctx.store, registry, { afterStreamSeq: from }).catch((e) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect(err).toMatchObject({ code: 'INTERNAL' });
    expect(err.message).toMatch(
      new RegExp(
        `replay of lease ${id} stopped at seq 3: the machine no longer accepts lease.renew in state "released"`,
      ),
    );
  });

  it('skips entities the registry does not know', async () => {
    const from = await ctx.store.lastStreamSeq();
    const host = new ActorHost({ store: ctx.store, registry });
    const id = uid('l');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann' }));
    const actors = await rebuildActors(ctx.store, { harness: registry.harness! }, { afterStreamSeq: from });
    expect(actors.size).toBe(0);
  });
});
