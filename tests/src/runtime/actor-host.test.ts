import { describe, expect, it } from 'vitest';
import { TetherError } from '@tether/contracts';
import { registry } from '@tether/machines';
import { ActorHost, type EventStore } from '@tether/runtime';
import { cmd, uid, useNats } from '../harness/index.ts';

const ctx = useNats();
const host = () => new ActorHost({ store: ctx.store, registry });

/** The real store whose appends wait while held: a command stuck on a slow NATS, queued ahead of others. */
function holdingAppends(store: EventStore) {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const held = new Proxy(store, {
    get(target, prop) {
      if (prop === 'append')
        return async (...args: Parameters<EventStore['append']>) => {
          await gate;
          return target.append(...args);
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    store: held,
    hold: () => {
      gate = new Promise((r) => {
        open = r;
      });
    },
    release: () => open(),
  };
}

async function rejection(p: Promise<unknown>): Promise<TetherError> {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(TetherError);
  return err as TetherError;
}

describe('actor host', () => {
  it('applies commands through the machine and returns entity id, seq, state and correlation id', async () => {
    const h = host();
    const id = uid('l');
    const created = await h.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 60_000 }));
    expect(created).toMatchObject({ ok: true, entity: 'lease', entityId: id, seq: 1, state: 'held', duplicate: false });
    expect(created.correlationId).toBe(created.commandId);
    const renewed = await h.execute(cmd('lease', 'renew', id));
    expect(renewed).toMatchObject({ seq: 2, state: 'held' });
    const events = await ctx.store.readEntity('lease', id);
    expect(events.map((e) => [e.event.type, e.event.seq, e.event.state])).toEqual([
      ['lease.create', 1, 'held'],
      ['lease.renew', 2, 'held'],
    ]);
    expect(events[1]!.event.causationId).toBe(renewed.commandId);
    expect(events[0]!.event.actor).toEqual({ kind: 'human', id: 'ann' });
  });

  it('derives the id of a creating command without one from its command id: a resend names the same entity', async () => {
    const c = cmd('lease', 'create', undefined, { holder: 'bo' });
    const r = await host().execute(c);
    expect(r.entityId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Another process, past every cache and the stream's duplicate window alike: the history answers.
    expect(await host().execute(c)).toMatchObject({ entityId: r.entityId, seq: 1, duplicate: true });
    expect((await host().execute(cmd('lease', 'create', undefined, { holder: 'bo' }))).entityId).not.toBe(r.entityId);
  });

  it('answers a resend from the whole history, also of an actor restored from a KV snapshot', async () => {
    const snapshotting = () => new ActorHost({ store: ctx.store, registry, snapshotEvery: 5 });
    const id = uid('l');
    const first = await snapshotting().execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 60_000 }));
    const renews = [];
    for (let i = 0; i < 12; i++) renews.push(await snapshotting().execute(cmd('lease', 'renew', id)));
    await new Promise((r) => setTimeout(r, 200)); // snapshots are written in the background
    const fresh = snapshotting(); // loads from the snapshot at seq 10, then learns the ids before it
    expect(await fresh.execute({ ...cmd('lease', 'renew', id), id: renews[1]!.commandId })).toMatchObject({
      seq: 3,
      streamSeq: renews[1]!.streamSeq,
      duplicate: true,
    });
    expect(
      await fresh.execute({ ...cmd('lease', 'create', id, { holder: 'ann', ttlMs: 60_000 }), id: first.commandId }),
    ).toMatchObject({
      seq: 1,
      duplicate: true,
    });
    expect(await ctx.store.readEntity('lease', id)).toHaveLength(13);
  });

  it('refuses a resend older than the command retention and applies nothing', async () => {
    const h = new ActorHost({ store: ctx.store, registry, commandRetentionMs: 50 });
    const id = uid('l');
    await h.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 60_000 }));
    const renew = cmd('lease', 'renew', id);
    await h.execute(renew);
    await new Promise((r) => setTimeout(r, 80));
    const err = await rejection(h.execute(renew));
    expect([err.code, err.reason]).toEqual(['CONFLICT', 'COMMAND_EXPIRED']);
    expect(await ctx.store.readEntity('lease', id)).toHaveLength(2);
  });

  it('rejects with a typed error and writes nothing', async () => {
    const h = host();
    const id = uid('l');
    await h.execute(cmd('lease', 'create', id, { holder: 'ann' }));
    await h.execute(cmd('lease', 'release', id, { reason: 'done' }));
    const head = await ctx.store.lastStreamSeq();

    const invalid = await rejection(h.execute(cmd('lease', 'create', uid('l'), { holder: '', ttlMs: 5 })));
    expect(invalid.code).toBe('INVALID_COMMAND');
    expect(invalid.issues?.map((i) => i.path.join('.'))).toEqual(['holder', 'ttlMs']);
    expect((await rejection(h.execute(cmd('lease', 'create', uid('l'), { holder: 'a', extra: 1 })))).code).toBe(
      'INVALID_COMMAND',
    );
    expect((await rejection(h.execute(cmd('lease', 'explode', id)))).code).toBe('UNKNOWN_COMMAND');
    expect((await rejection(h.execute(cmd('ghost', 'create', id)))).code).toBe('UNKNOWN_COMMAND');
    expect((await rejection(h.execute(cmd('lease', 'renew', uid('missing'))))).code).toBe('NOT_FOUND');
    expect((await rejection(h.execute(cmd('lease', 'renew', undefined)))).code).toBe('INVALID_COMMAND');
    expect((await rejection(h.execute(cmd('lease', 'create', id, { holder: 'x' })))).code).toBe('ALREADY_EXISTS');
    const notAllowed = await rejection(h.execute(cmd('lease', 'renew', id)));
    expect(notAllowed).toMatchObject({ code: 'NOT_ALLOWED', reason: 'LEASE_RELEASED' });
    expect(notAllowed.message).toMatch(new RegExp(`lease ${id} was released at .*; renew is not possible`));
    const early = await rejection(
      h.execute(cmd('lease', 'expire', (await h.execute(cmd('lease', 'create', undefined, { holder: 'z' }))).entityId)),
    );
    expect(early).toMatchObject({ code: 'NOT_ALLOWED', reason: 'LEASE_NOT_DUE' });

    expect(await ctx.store.lastStreamSeq()).toBe(head + 1); // only the successful create above
  });

  it('answers a resent command id with the original result, from the cache, a replay or another host', async () => {
    const a = host();
    const id = uid('l');
    const create = cmd('lease', 'create', id, { holder: 'ann' });
    const first = await a.execute(create);
    const renew = cmd('lease', 'renew', id);
    const r1 = await a.execute(renew);
    expect(await a.execute(create)).toMatchObject({ seq: 1, duplicate: true, streamSeq: first.streamSeq });
    a.clearCache();
    expect(await a.execute(renew)).toMatchObject({ seq: 2, duplicate: true, streamSeq: r1.streamSeq });
    const b = host();
    await b.execute(cmd('lease', 'renew', id)); // b's cache is fresh, a's is stale now
    expect(await a.execute(renew)).toMatchObject({ seq: 2, duplicate: true });
    expect((await ctx.store.readEntity('lease', id)).length).toBe(3);
  });

  it('two hosts racing on one entity lose no update and fork no history (OCC + retries)', async () => {
    const [a, b] = [host(), host()];
    const id = uid('race');
    await a.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
    await b.state('lease', id); // both caches warm, so conflicts really happen
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).execute(cmd('lease', 'renew', id))),
    );
    expect(new Set(results.map((r) => r.seq)).size).toBe(60);
    const events = await ctx.store.readEntity('lease', id);
    expect(events.map((e) => e.event.seq)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    a.clearCache();
    expect((await a.state('lease', id))?.context).toMatchObject({ renewals: 60 });
  });

  it('answers CONFLICT when retries run out, and nothing is half-written', async () => {
    const id = uid('l');
    const writer = host();
    await writer.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
    const stale = new ActorHost({ store: ctx.store, registry, maxConflictRetries: 0 });
    await stale.state('lease', id);
    await writer.execute(cmd('lease', 'renew', id));
    const err = await rejection(stale.execute(cmd('lease', 'renew', id)));
    expect(err.code).toBe('CONFLICT');
    // The cache was dropped: the next attempt reloads and succeeds.
    expect(await stale.execute(cmd('lease', 'renew', id))).toMatchObject({ seq: 3 });
  });

  it('loads from a KV snapshot plus the tail, and the snapshot is verifiable by replay', async () => {
    const h = new ActorHost({ store: ctx.store, registry, snapshotEvery: 5 });
    const id = uid('snap');
    await h.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
    for (let i = 0; i < 11; i++) await h.execute(cmd('lease', 'renew', id));
    const snapKv = await ctx.store.kv('tether_snapshots');
    const snap = await snapKv.get<{ version: number }>(`lease.${id}`);
    expect(snap?.value.version).toBe(10);
    expect((await h.verifySnapshot('lease', id)).ok).toBe(true);
    const fresh = new ActorHost({ store: ctx.store, registry, snapshotEvery: 5 });
    expect(await fresh.state('lease', id)).toMatchObject({ version: 12, context: { renewals: 11 } });
    // A snapshot that disagrees with the events is caught by the replay check.
    await snapKv.put(`lease.${id}`, { ...(snap!.value as object), context: { renewals: 999 } });
    expect((await h.verifySnapshot('lease', id)).ok).toBe(false);
  });

  it('reads what it applied without waiting behind the commands queued after it; state() waits for them', async () => {
    const slow = holdingAppends(ctx.store);
    const h = new ActorHost({ store: slow.store, registry });
    const id = uid('l');
    const created = await h.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
    slow.hold();
    const renew = h.execute(cmd('lease', 'renew', id)); // queued on the lease, stuck at its append
    // A share's revoke route answers this way while its viewers' leaves queue up behind the revoke.
    const late = new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5_000));
    expect(await Promise.race([h.stateAt('lease', id, created.streamSeq), late])).toMatchObject({ version: 1 });
    let waiting = true;
    const consistent = h.state('lease', id).finally(() => (waiting = false));
    await new Promise((r) => setTimeout(r, 100));
    expect(waiting).toBe(true);
    slow.release();
    expect(await renew).toMatchObject({ seq: 2 });
    expect(await consistent).toMatchObject({ version: 2 });
    // Another process has no copy that new: it reads as state() does.
    expect(await host().stateAt('lease', id, created.streamSeq)).toMatchObject({ version: 2 });
  });
});
