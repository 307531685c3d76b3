import { describe, expect, it } from 'vitest';
import { ENVELOPE_VERSION, TetherError, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import { KvRevisionError, WrongLastSequenceError, type EventStore, type KvChange } from '@tether/runtime';

export interface StoreFixture {
  store: EventStore;
  /** Simulates a crash of the process that owns `store` and opens the same data again. */
  crashAndReopen(): Promise<EventStore>;
}

let n = 0;
const uid = (p: string) => `${p}${Date.now().toString(36)}${(n++).toString(36)}`;

export function event(
  entity: string,
  entityId: string,
  seq: number,
  data: Record<string, unknown> = {},
): EventEnvelope {
  return {
    id: uid('ev'),
    type: `${entity}.create`,
    entity,
    entityId,
    seq,
    at: new Date().toISOString(),
    correlationId: 'corr',
    causationId: uid('cmd'),
    actor: { kind: 'system', id: 'test' },
    data,
    state: 'held',
    v: ENVELOPE_VERSION,
  };
}

async function collect<T>(it: AsyncIterable<T>, max = Infinity): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length >= max) break;
  }
  return out;
}

const until = async (cond: () => boolean | Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** The event store contract: every adapter must pass all of it. */
export function eventStoreConformance(name: string, fixture: () => Promise<StoreFixture>) {
  describe(`event store conformance: ${name}`, () => {
    it('appends with the expected last subject sequence and refuses a stale one without writing', async () => {
      const { store } = await fixture();
      const id = uid('e');
      const a = await store.append(event('lease', id, 1), { expectedLastSeq: 0, msgId: uid('m') });
      expect(a).toMatchObject({ duplicate: false });
      expect(await store.lastSubjectSeq('lease', id)).toBe(a.streamSeq);
      const head = await store.lastStreamSeq();
      await expect(store.append(event('lease', id, 2), { expectedLastSeq: 0, msgId: uid('m') })).rejects.toBeInstanceOf(
        WrongLastSequenceError,
      );
      await expect(
        store.append(event('lease', id, 2), { expectedLastSeq: a.streamSeq + 1000, msgId: uid('m') }),
      ).rejects.toBeInstanceOf(WrongLastSequenceError);
      expect(await store.lastStreamSeq()).toBe(head);
      const b = await store.append(event('lease', id, 2), { expectedLastSeq: a.streamSeq, msgId: uid('m') });
      expect(b.streamSeq).toBeGreaterThan(a.streamSeq);
      expect(await store.lastSubjectSeq('lease', id)).toBe(b.streamSeq);
      expect(await store.lastSubjectSeq('lease', uid('none'))).toBe(0);
    });

    it('answers a duplicate msgID with the original sequence, even with a stale expectation', async () => {
      const { store } = await fixture();
      const id = uid('e');
      const msgId = uid('m');
      const first = await store.append(event('lease', id, 1), { expectedLastSeq: 0, msgId });
      const head = await store.lastStreamSeq();
      const again = await store.append(event('lease', id, 1), { expectedLastSeq: 0, msgId });
      expect(again).toEqual({ streamSeq: first.streamSeq, duplicate: true });
      expect(await store.lastStreamSeq()).toBe(head);
      expect((await store.readEntity('lease', id)).length).toBe(1);
    });

    it('reads one entity from a sequence and one event by sequence', async () => {
      const { store } = await fixture();
      const id = uid('e');
      const other = uid('o');
      let last = 0;
      const seqs: number[] = [];
      for (let i = 1; i <= 5; i++) {
        last = (await store.append(event('lease', id, i, { i }), { expectedLastSeq: last, msgId: uid('m') })).streamSeq;
        seqs.push(last);
        await store.append(event('lease', other, i), {
          expectedLastSeq: i === 1 ? 0 : await store.lastSubjectSeq('lease', other),
          msgId: uid('m'),
        });
      }
      const all = await store.readEntity('lease', id);
      expect(all.map((e) => e.event.data.i)).toEqual([1, 2, 3, 4, 5]);
      expect(all.map((e) => e.streamSeq)).toEqual(seqs);
      const tail = await store.readEntity('lease', id, seqs[2]);
      expect(tail.map((e) => e.event.seq)).toEqual([4, 5]);
      expect(await store.readEntity('lease', id, seqs[4])).toEqual([]);
      const one = await store.getEvent(seqs[1]!);
      expect(one?.event.entityId).toBe(id);
      expect(one?.subject).toBe(`tether.evt.lease.${id}`);
      expect(await store.getEvent(seqs[4]! + 10_000)).toBeUndefined();
    });

    it('reads all from a sequence with a subject filter, in order, up to the head', async () => {
      const { store } = await fixture();
      const entity =
        uid('x')
          .replace(/[^a-z0-9]/g, '')
          .replace(/^[0-9]+/, '') || 'xx';
      const start = await store.lastStreamSeq();
      const ids = [uid('a'), uid('b')];
      for (const id of ids) await store.append(event(entity, id, 1), { expectedLastSeq: 0, msgId: uid('m') });
      await store.append(event('lease', uid('c'), 1), { expectedLastSeq: 0, msgId: uid('m') });
      const mine = await collect(store.readAll({ afterStreamSeq: start, filter: `tether.evt.${entity}.*` }));
      expect(mine.map((e) => e.event.entityId)).toEqual(ids);
      const everything = await collect(store.readAll({ afterStreamSeq: start }));
      expect(everything.length).toBe(3);
      expect(everything.map((e) => e.streamSeq)).toEqual([...everything.map((e) => e.streamSeq)].sort((x, y) => x - y));
      expect(await collect(store.readAll({ afterStreamSeq: await store.lastStreamSeq() }))).toEqual([]);
    });

    it('filtered reads return every match up to the end, never stopping short', async () => {
      const { store } = await fixture();
      for (let round = 0; round < 10; round++) {
        const start = await store.lastStreamSeq();
        const ids = Array.from({ length: 17 }, () => uid('r'));
        for (const [i, id] of ids.entries()) {
          await store.append(event('lease', id, 1), { expectedLastSeq: 0, msgId: uid('m') });
          if (i % 3 === 0) await store.append(event('lane', uid('n'), 1), { expectedLastSeq: 0, msgId: uid('m') });
        }
        const leases = await collect(store.readAll({ afterStreamSeq: start, filter: 'tether.evt.lease.*' }));
        expect(leases.map((e) => e.event.entityId)).toEqual(ids);
        expect((await collect(store.readAll({ afterStreamSeq: start }))).length).toBe(17 + 6);
      }
      const one = uid('long');
      let last = 0;
      for (let i = 1; i <= 40; i++)
        last = (await store.append(event('lease', one, i), { expectedLastSeq: last, msgId: uid('m') })).streamSeq;
      expect((await store.readEntity('lease', one)).map((e) => e.event.seq)).toEqual(
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
    });

    it('long reads (hundreds of events, interleaved) return every match in order', async () => {
      const { store } = await fixture();
      const start = await store.lastStreamSeq();
      const [a, b] = [uid('la'), uid('lb')];
      const last = { [a]: 0, [b]: 0 };
      const seqs: Record<string, number[]> = { [a]: [], [b]: [] };
      for (let i = 1; i <= 300; i++) {
        const id = i % 3 === 0 ? b : a;
        const { streamSeq } = await store.append(event('lease', id, seqs[id]!.length + 1), {
          expectedLastSeq: last[id]!,
          msgId: uid('m'),
        });
        last[id] = streamSeq;
        seqs[id]!.push(streamSeq);
      }
      expect((await store.readEntity('lease', a)).map((e) => e.streamSeq)).toEqual(seqs[a]);
      expect((await store.readEntity('lease', a, seqs[a]![49])).map((e) => e.streamSeq)).toEqual(seqs[a]!.slice(50));
      const filtered = await collect(store.readAll({ afterStreamSeq: start, filter: `tether.evt.lease.${b}` }));
      expect(filtered.map((e) => e.streamSeq)).toEqual(seqs[b]);
      const all = await collect(store.readAll({ afterStreamSeq: start }));
      expect(all.map((e) => e.streamSeq)).toEqual(Array.from({ length: 300 }, (_, i) => start + i + 1));
    });

    it('follows new events until aborted', async () => {
      const { store } = await fixture();
      const id = uid('f');
      const ac = new AbortController();
      const seen: StoredEvent[] = [];
      const start = await store.lastStreamSeq();
      const done = (async () => {
        for await (const e of store.follow({
          afterStreamSeq: start,
          filter: `tether.evt.lease.${id}`,
          signal: ac.signal,
        }))
          seen.push(e);
      })();
      let last = 0;
      for (let i = 1; i <= 3; i++)
        last = (await store.append(event('lease', id, i), { expectedLastSeq: last, msgId: uid('m') })).streamSeq;
      await until(() => seen.length === 3);
      ac.abort();
      await done;
      expect(seen.map((e) => e.event.seq)).toEqual([1, 2, 3]);
    });

    it('a durable subscription acks, redelivers a failed event, and after a crash redelivers what was not acked', async () => {
      const fx = await fixture();
      const entity = 'lease';
      const id = uid('d');
      const name = uid('sub');
      const filter = `tether.evt.${entity}.${id}`;
      let last = 0;
      for (let i = 1; i <= 2; i++)
        last = (await fx.store.append(event(entity, id, i), { expectedLastSeq: last, msgId: uid('m') })).streamSeq;
      const got: number[] = [];
      let failedOnce = false;
      let release!: (v?: unknown) => void;
      const hang = new Promise((_, rej) => (release = rej));
      await fx.store.subscribe(name, { filter, ackWaitMs: 1_000 }, async (e) => {
        got.push(e.event.seq);
        if (e.event.seq === 2 && !failedOnce) {
          failedOnce = true;
          throw new Error('handler failed');
        }
        if (e.event.seq === 3) await hang; // the process "crashes" while handling 3
      });
      await until(() => got.filter((s) => s === 2).length === 2);
      expect(got).toEqual([1, 2, 2]);
      await fx.store.append(event(entity, id, 3), { expectedLastSeq: last, msgId: uid('m') });
      await until(() => got.includes(3));
      const reopened = await fx.crashAndReopen();
      release(new Error('crashed'));
      const after: number[] = [];
      const sub = await reopened.subscribe(
        name,
        { filter, ackWaitMs: 1_000 },
        async (e) => void after.push(e.event.seq),
      );
      await until(() => after.includes(3), 20_000);
      expect(after[0]).toBe(3);
      expect(after).not.toContain(1);
      await reopened.append(event(entity, id, 4), {
        expectedLastSeq: await reopened.lastSubjectSeq(entity, id),
        msgId: uid('m'),
      });
      await until(() => after.includes(4));
      await until(async () => (await reopened.subscriptionLag(name)) === 0);
      await sub.stop();
      await reopened.deleteSubscription(name);
      expect(await reopened.subscriptionLag(name)).toBeUndefined();
    });

    it('after a crash, the next process gets the events the crashed one held at once, not after ackWaitMs', async () => {
      const fx = await fixture();
      const id = uid('r');
      const name = uid('sub');
      const filter = `tether.evt.lease.${id}`;
      const opts = { filter, ackWaitMs: 120_000 }; // a process manager's: long handlers are allowed
      let last = 0;
      for (let i = 1; i <= 3; i++)
        last = (await fx.store.append(event('lease', id, i), { expectedLastSeq: last, msgId: uid('m') })).streamSeq;
      let crash!: (err: Error) => void;
      const crashed = new Promise((_, reject) => (crash = reject));
      const before: number[] = [];
      await fx.store.subscribe(name, opts, async (e) => {
        before.push(e.event.seq);
        if (e.event.seq === 2) await crashed; // still at work on 2 when the process dies
      });
      await until(() => before.includes(2));
      const reopening = fx.crashAndReopen();
      crash(new Error('killed'));
      const reopened = await reopening;
      const after: number[] = [];
      const t0 = Date.now();
      await reopened.subscribe(name, opts, async (e) => void after.push(e.event.seq));
      await until(() => after.includes(3), 20_000);
      // JetStream hands a dead holder's events on within its lease (2 s); generous for a busy machine.
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(before).toEqual([1, 2]);
      expect(after).toEqual([2, 3]);
    });

    it('a handler that hangs past ackWaitMs is abandoned and its event delivered again', async () => {
      const { store } = await fixture();
      const id = uid('h');
      const name = uid('sub');
      await store.append(event('lease', id, 1), { expectedLastSeq: 0, msgId: uid('m') });
      const calls: number[] = [];
      const sub = await store.subscribe(name, { filter: `tether.evt.lease.${id}`, ackWaitMs: 1_000 }, async (e) => {
        calls.push(e.event.seq);
        if (calls.length === 1) await new Promise(() => undefined); // never settles
      });
      await until(() => calls.length === 2);
      await until(async () => (await store.subscriptionLag(name)) === 0);
      await sub.stop();
      expect(calls).toEqual([1, 1]);
    });

    it('KV: get, put, create, compare-and-set, delete, keys, watch', async () => {
      const { store } = await fixture();
      const kv = await store.kv(uid('tether_t').replace(/[^A-Za-z0-9_-]/g, '_'));
      expect(await kv.get('a')).toBeUndefined();
      const r1 = await kv.create('a', { n: 1 });
      await expect(kv.create('a', { n: 2 })).rejects.toBeInstanceOf(KvRevisionError);
      expect(await kv.get('a')).toEqual({ key: 'a', value: { n: 1 }, revision: r1 });
      const r2 = await kv.update('a', { n: 2 }, r1);
      expect(r2).toBeGreaterThan(r1);
      await expect(kv.update('a', { n: 3 }, r1)).rejects.toBeInstanceOf(KvRevisionError);
      expect((await kv.get('a'))?.value).toEqual({ n: 2 });
      await kv.put('b.c', { n: 9 });
      expect((await kv.keys()).sort()).toEqual(['a', 'b.c']);
      const listed = async (prefix?: string) => (await kv.entries(prefix)).map((e) => [e.key, e.value, e.revision]);
      expect(await listed()).toEqual([
        ['a', { n: 2 }, r2],
        ['b.c', { n: 9 }, (await kv.get('b.c'))?.revision],
      ]);
      expect((await listed('b.')).map(([k]) => k)).toEqual(['b.c']);
      expect((await listed('a')).map(([k]) => k)).toEqual(['a']);
      expect(await listed('zz.')).toEqual([]);

      const ac = new AbortController();
      const changes: KvChange[] = [];
      const watching = (async () => {
        for await (const c of kv.watch({ signal: ac.signal, initial: true })) changes.push(c);
      })();
      await until(() => changes.length === 2);
      expect(changes.map((c) => [c.key, c.value]).sort()).toEqual([
        ['a', { n: 2 }],
        ['b.c', { n: 9 }],
      ]);
      await kv.put('a', { n: 4 });
      await kv.delete('b.c');
      await until(() => changes.length === 4);
      expect(changes.slice(2).map((c) => [c.op, c.key, c.value])).toEqual([
        ['put', 'a', { n: 4 }],
        ['delete', 'b.c', undefined],
      ]);
      ac.abort();
      await watching;
      expect(await kv.get('b.c')).toBeUndefined();
      expect(await kv.keys()).toEqual(['a']);
      expect((await kv.entries()).map((e) => e.key)).toEqual(['a']);
      await store.destroyKv(kv.name);
      expect(await (await store.kv(kv.name)).keys()).toEqual([]);
    });

    it('KV watch after a revision: each key written since (deletes too) in revision order, then changes; head', async () => {
      const { store } = await fixture();
      const kv = await store.kv(uid('tether_after').replace(/[^A-Za-z0-9_-]/g, '_'));
      expect(await kv.head()).toBe(0);
      const a1 = await kv.put('a', { n: 1 });
      const b1 = await kv.put('b', { n: 1 });
      await kv.put('c', { n: 1 });
      await kv.put('a', { n: 2 });
      await kv.delete('c');
      const head = await kv.head();
      expect(head).toBeGreaterThan(b1);
      const ac = new AbortController();
      const changes: KvChange[] = [];
      const watching = (async () => {
        for await (const c of kv.watch({ signal: ac.signal, after: a1 })) changes.push(c);
      })();
      await until(() => changes.length === 3);
      // b once, c's delete, a's last value: each key's last record after a1, in revision order.
      expect(changes.map((c) => [c.op, c.key, c.value])).toEqual([
        ['put', 'b', { n: 1 }],
        ['put', 'a', { n: 2 }],
        ['delete', 'c', undefined],
      ]);
      expect(changes.map((c) => c.revision)).toEqual([...changes.map((c) => c.revision)].sort((x, y) => x - y));
      expect(changes.at(-1)?.revision).toBe(head);
      const b2 = await kv.put('b', { n: 2 });
      await until(() => changes.length === 4);
      expect(changes[3]).toMatchObject({ key: 'b', revision: b2, op: 'put' });
      expect(await kv.head()).toBe(b2);
      ac.abort();
      await watching;
      // After the head: nothing until something changes.
      const ac2 = new AbortController();
      const later: KvChange[] = [];
      const watching2 = (async () => {
        for await (const c of kv.watch({ signal: ac2.signal, after: b2 })) later.push(c);
      })();
      await new Promise((r) => setTimeout(r, 200));
      expect(later).toEqual([]);
      await kv.put('d', { n: 1 });
      await until(() => later.length === 1);
      expect(later[0]?.key).toBe('d');
      ac2.abort();
      await watching2;
      await store.destroyKv(kv.name);
    });

    it('KV with a TTL: a value reads as absent once it is older than the TTL', async () => {
      const { store } = await fixture();
      const name = uid('tether_ttl').replace(/[^A-Za-z0-9_-]/g, '_');
      const kv = await store.kv(name, { ttlMs: 1_000 });
      await kv.put('k', { n: 1 });
      expect((await kv.get('k'))?.value).toEqual({ n: 1 });
      await until(async () => (await kv.get('k')) === undefined, 10_000);
      expect(await kv.keys()).toEqual([]);
      await kv.put('k2', { n: 2 }); // a bucket opened again keeps its TTL; a fresh value is there
      expect((await (await store.kv(name, { ttlMs: 1_000 })).get('k2'))?.value).toEqual({ n: 2 });
      await store.destroyKv(name);
    });

    it('store errors are typed', async () => {
      const { store } = await fixture();
      await expect(
        store.append(event('lease', 'has.dot', 1), { expectedLastSeq: 0, msgId: uid('m') }),
      ).rejects.toThrow();
      const err = await store
        .append(event('lease', uid('z'), 1), { expectedLastSeq: 5, msgId: uid('m') })
        .catch((e) => e);
      expect(err).toBeInstanceOf(WrongLastSequenceError);
      expect(err).not.toBeInstanceOf(TetherError);
    });
  });
}
