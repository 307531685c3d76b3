import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TetherError, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import { EmbeddedEventStore } from './embedded/index.ts';
import { KvRevisionError, WrongLastSequenceError, type KvChange } from './port.ts';

const dirs: string[] = [];
const stores: EmbeddedEventStore[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tether-embedded-'));
  dirs.push(dir);
  return dir;
}

async function open(dir: string, opts: Parameters<typeof EmbeddedEventStore.open>[1] = {}) {
  const store = await EmbeddedEventStore.open(dir, opts);
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ev(entity: string, entityId: string, seq: number, data: Record<string, unknown> = {}): EventEnvelope {
  return {
    id: `${entity}-${entityId}-${seq}`,
    type: `${entity}.changed`,
    entity,
    entityId,
    seq,
    at: new Date().toISOString(),
    correlationId: 'c1',
    causationId: 'c1',
    actor: { kind: 'system', id: 'test' },
    data,
    state: 'active',
    v: 1,
  };
}

/** Appends the entity's next event, reading its last sequence first. */
async function next(store: EmbeddedEventStore, entity: string, id: string, data: Record<string, unknown> = {}) {
  const expectedLastSeq = await store.lastSubjectSeq(entity, id);
  const version = (await store.readEntity(entity, id)).length + 1;
  return store.append(ev(entity, id, version, data), { expectedLastSeq, msgId: `${entity}.${id}.${version}` });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const seqsOf = (events: StoredEvent[]) => events.map((e) => e.streamSeq);

describe('EmbeddedEventStore: append and read', () => {
  it('appends with global sequences and reads by entity, sequence and filter', async () => {
    const store = await open(tempDir());
    expect(store.kind).toBe('embedded');
    expect(await store.lastStreamSeq()).toBe(0);
    expect(await next(store, 'lease', 'a')).toEqual({ streamSeq: 1, duplicate: false });
    expect(await next(store, 'terminal', 't1')).toEqual({ streamSeq: 2, duplicate: false });
    expect(await next(store, 'lease', 'a', { n: 2 })).toEqual({ streamSeq: 3, duplicate: false });
    expect(await next(store, 'lease', 'b')).toEqual({ streamSeq: 4, duplicate: false });

    expect(await store.lastStreamSeq()).toBe(4);
    expect(await store.lastSubjectSeq('lease', 'a')).toBe(3);
    expect(await store.lastSubjectSeq('lease', 'zzz')).toBe(0);
    const e3 = await store.getEvent(3);
    expect(e3).toEqual({
      streamSeq: 3,
      subject: 'tether.evt.lease.a',
      event: expect.objectContaining({ seq: 2, data: { n: 2 } }),
    });
    expect(await store.getEvent(99)).toBeUndefined();
    expect(seqsOf(await store.readEntity('lease', 'a'))).toEqual([1, 3]);
    expect(seqsOf(await store.readEntity('lease', 'a', 1))).toEqual([3]);
    expect(seqsOf(await collect(store.readAll()))).toEqual([1, 2, 3, 4]);
    expect(seqsOf(await collect(store.readAll({ afterStreamSeq: 2 })))).toEqual([3, 4]);
    expect(seqsOf(await collect(store.readAll({ filter: 'tether.evt.lease.*' })))).toEqual([1, 3, 4]);
    expect(seqsOf(await collect(store.readAll({ filter: 'tether.evt.terminal.>' })))).toEqual([2]);
  });

  it('returns copies: changing a read event does not change the store', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a', { n: 1 });
    const e = (await store.getEvent(1))!;
    e.event.data.n = 666;
    expect((await store.getEvent(1))!.event.data).toEqual({ n: 1 });
  });

  it('refuses an append whose expected last sequence is stale', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a');
    await next(store, 'terminal', 't1');
    const err = await store.append(ev('lease', 'a', 2), { expectedLastSeq: 0, msgId: 'm-x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongLastSequenceError);
    expect(err).toMatchObject({ subject: 'tether.evt.lease.a', expected: 0 });
    await expect(store.append(ev('lease', 'a', 2), { expectedLastSeq: 2, msgId: 'm-y' })).rejects.toBeInstanceOf(
      WrongLastSequenceError,
    );
    expect(await store.append(ev('lease', 'a', 2), { expectedLastSeq: 1, msgId: 'm-z' })).toEqual({
      streamSeq: 3,
      duplicate: false,
    });
  });

  it('answers a resent msgId with the original sequence, before the sequence check, within the window', async () => {
    const dir = tempDir();
    const store = await open(dir, { duplicateWindowMs: 300 });
    expect(await store.append(ev('lease', 'a', 1), { expectedLastSeq: 0, msgId: 'cmd-1' })).toEqual({
      streamSeq: 1,
      duplicate: false,
    });
    // Same msgId, stale expected sequence: still a duplicate, not a conflict.
    expect(await store.append(ev('lease', 'a', 1), { expectedLastSeq: 0, msgId: 'cmd-1' })).toEqual({
      streamSeq: 1,
      duplicate: true,
    });
    expect(await store.lastStreamSeq()).toBe(1);

    // The window survives a restart.
    await store.close();
    const again = await open(dir, { duplicateWindowMs: 300 });
    expect(await again.append(ev('lease', 'a', 1), { expectedLastSeq: 0, msgId: 'cmd-1' })).toEqual({
      streamSeq: 1,
      duplicate: true,
    });

    // After the window the msgId is new again, so the sequence check applies.
    await new Promise((r) => setTimeout(r, 350));
    await expect(again.append(ev('lease', 'a', 1), { expectedLastSeq: 0, msgId: 'cmd-1' })).rejects.toBeInstanceOf(
      WrongLastSequenceError,
    );
    expect(await again.append(ev('lease', 'a', 2), { expectedLastSeq: 1, msgId: 'cmd-1' })).toEqual({
      streamSeq: 2,
      duplicate: false,
    });
  });

  it('keeps everything across close and reopen, and continues the sequence', async () => {
    const dir = tempDir();
    const store = await open(dir);
    await next(store, 'lease', 'a');
    await next(store, 'lease', 'a');
    await store.close();
    await expect(store.lastStreamSeq()).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    const again = await open(dir);
    expect(await again.lastStreamSeq()).toBe(2);
    expect(await again.lastSubjectSeq('lease', 'a')).toBe(2);
    expect(await next(again, 'lease', 'a')).toEqual({ streamSeq: 3, duplicate: false });
    expect((await again.readEntity('lease', 'a')).map((e) => e.event.seq)).toEqual([1, 2, 3]);
  });

  it('tolerates a torn last line, and cuts it away when opened as the writer', async () => {
    const dir = tempDir();
    const store = await open(dir);
    await next(store, 'lease', 'a');
    await next(store, 'lease', 'a');
    await store.close();
    const file = join(dir, 'events.jsonl');
    const goodSize = statSync(file).size;
    appendFileSync(file, '{"streamSeq":3,"subject":"tether.evt.lease.a","msgId":"x","ti');

    const reader = await open(dir, { readOnly: true });
    expect(await reader.lastStreamSeq()).toBe(2);
    expect(statSync(file).size).toBeGreaterThan(goodSize); // readers do not touch the file

    const writer = await open(dir);
    expect(statSync(file).size).toBe(goodSize);
    expect(await writer.lastStreamSeq()).toBe(2);
    expect(await next(writer, 'lease', 'a')).toEqual({ streamSeq: 3, duplicate: false });
    await writer.close();
    expect(await (await open(dir)).lastStreamSeq()).toBe(3);
  });

  it('refuses to open a log with a damaged line in the middle', async () => {
    const dir = tempDir();
    const store = await open(dir);
    await next(store, 'lease', 'a');
    await store.close();
    const file = join(dir, 'events.jsonl');
    const [first] = readFileSync(file, 'utf8').split('\n');
    writeFileSync(file, `${first}\n{garbage\n${first!.replace('"streamSeq":1', '"streamSeq":2')}\n`);
    await expect(EmbeddedEventStore.open(dir)).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(EmbeddedEventStore.open(dir)).rejects.toThrow(/corrupt/); // and the lock was released
  });

  it('follows existing then new events until the signal aborts', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a');
    await next(store, 'terminal', 't');
    const ac = new AbortController();
    const seen: StoredEvent[] = [];
    const done = (async () => {
      for await (const e of store.follow({ signal: ac.signal, filter: 'tether.evt.lease.*' })) seen.push(e);
    })();
    await until(() => seen.length === 1);
    await next(store, 'terminal', 't');
    await next(store, 'lease', 'b');
    await until(() => seen.length === 2);
    ac.abort();
    await done; // returns cleanly
    expect(seqsOf(seen)).toEqual([1, 4]);
  });
});

describe('EmbeddedEventStore: one writer, many readers', () => {
  it('refuses a second writer on the same dir with UNAVAILABLE, and frees the dir on close', async () => {
    const dir = tempDir();
    const first = await open(dir);
    const err = await EmbeddedEventStore.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect(err).toMatchObject({ code: 'UNAVAILABLE' });
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect((err as Error).message).toContain('NATS_URL');
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    await first.close();
    const second = await open(dir);
    expect(await second.lastStreamSeq()).toBe(0);
  });

  it('takes over a stale lock left by a dead process', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), '999999999\n');
    const store = await open(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    await store.close();
  });

  it('lets a read-only store read and follow what the writer appends, and refuses its writes', async () => {
    const dir = tempDir();
    const writer = await open(dir);
    await next(writer, 'lease', 'a');
    const reader = await open(dir, { readOnly: true });
    expect(await reader.lastStreamSeq()).toBe(1);

    const ac = new AbortController();
    const seen: StoredEvent[] = [];
    const done = (async () => {
      for await (const e of reader.follow({ signal: ac.signal })) seen.push(e);
    })();
    await until(() => seen.length === 1);
    await next(writer, 'lease', 'a');
    await next(writer, 'lease', 'b');
    await until(() => seen.length === 3);
    ac.abort();
    await done;
    expect(seen.map((e) => e.event.entityId)).toEqual(['a', 'a', 'b']);
    expect(await reader.lastSubjectSeq('lease', 'a')).toBe(2);

    const early = await open(join(dir, 'not-yet'), { readOnly: true }); // a reader may start before any writer
    expect(await early.lastStreamSeq()).toBe(0);
    expect(await (await early.kv('nothing')).keys()).toEqual([]);

    const refused = { code: 'NOT_ALLOWED', reason: 'READ_ONLY' };
    await expect(reader.append(ev('lease', 'c', 1), { expectedLastSeq: 0, msgId: 'r1' })).rejects.toMatchObject(
      refused,
    );
    await expect(reader.subscribe('s', {}, async () => {})).rejects.toMatchObject(refused);
    await expect((await reader.kv('b')).put('k', 1)).rejects.toMatchObject(refused);
    await expect(reader.destroyKv('b')).rejects.toMatchObject(refused);
  });

  it('survives kill -9: every append acknowledged before the kill is there after reopening', {
    timeout: 90_000,
  }, async () => {
    const dir = tempDir();
    const script = join(dir, 'writer.mts');
    const storeUrl = pathToFileURL(fileURLToPath(new URL('./embedded/index.ts', import.meta.url))).href;
    writeFileSync(
      script,
      `import { EmbeddedEventStore } from ${JSON.stringify(storeUrl)};
       const store = await EmbeddedEventStore.open(${JSON.stringify(join(dir, 'data'))});
       for (let i = 1; ; i++) {
         const ev = { id: 'e' + i, type: 'lease.changed', entity: 'lease', entityId: 'k' + (i % 7), seq: 1, at: new Date().toISOString(),
           correlationId: 'c', causationId: 'c', actor: { kind: 'system', id: 'w' }, data: { i }, state: 'active', v: 1 };
         const expectedLastSeq = await store.lastSubjectSeq('lease', ev.entityId);
         const r = await store.append(ev, { expectedLastSeq, msgId: 'm' + i });
         process.stdout.write('ack ' + r.streamSeq + '\\n');
       }`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let stderr = '';
    let buffered = '';
    child.stdout.on('data', (b: Buffer) => {
      const lines = (buffered + b.toString()).split('\n');
      buffered = lines.pop()!;
      for (const l of lines) if (l.startsWith('ack ')) acked.push(Number(l.slice(4)));
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    await until(() => acked.length >= 100 || child.exitCode !== null, 40_000).catch(() => undefined);
    expect(stderr).toBe('');
    expect(acked.length).toBeGreaterThanOrEqual(100);

    // While it runs, it owns the store: a second writer is refused, a reader is welcome.
    await expect(EmbeddedEventStore.open(join(dir, 'data'))).rejects.toThrow(`pid ${child.pid}`);
    const reader = await open(join(dir, 'data'), { readOnly: true });
    expect(await reader.lastStreamSeq()).toBeGreaterThanOrEqual(100);

    child.kill('SIGKILL');
    await exited;
    const store = await open(join(dir, 'data')); // the dead writer's lock is stale
    const last = await store.lastStreamSeq();
    expect(last).toBeGreaterThanOrEqual(Math.max(...acked));
    for (const seq of acked) expect((await store.getEvent(seq))?.event.data).toEqual({ i: seq });
    expect((await next(store, 'lease', 'after')).streamSeq).toBe(last + 1);
  });
});

describe('EmbeddedEventStore: durable subscriptions', () => {
  it('delivers matching events in order, live, and reports its lag', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a');
    await next(store, 'terminal', 't');
    await next(store, 'lease', 'b');
    const got: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sub = await store.subscribe('leases', { filter: 'tether.evt.lease.*' }, async (e) => {
      got.push(e.streamSeq);
      if (e.streamSeq === 3) await gate;
    });
    expect(await store.subscriptionLag('nobody')).toBeUndefined();
    await until(() => got.length === 2);
    expect(await store.subscriptionLag('leases')).toBe(1); // event 3 is in flight
    release();
    await until(async () => (await store.subscriptionLag('leases')) === 0);
    await next(store, 'lease', 'a');
    await until(() => got.length === 3);
    expect(got).toEqual([1, 3, 4]);
    await sub.stop();
  });

  it('redelivers an event whose handler throws, after a short delay, before moving on', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a');
    await next(store, 'lease', 'b');
    const got: [number, number][] = [];
    let failures = 0;
    const sub = await store.subscribe('s', {}, async (e) => {
      got.push([e.streamSeq, Date.now()]);
      if (e.streamSeq === 1 && failures++ === 0) throw new Error('boom');
    });
    await until(() => got.length === 3);
    expect(got.map(([s]) => s)).toEqual([1, 1, 2]);
    expect(got[1]![1] - got[0]![1]).toBeGreaterThanOrEqual(400);
    await sub.stop();
  });

  it('redelivers an event whose handler misses the ack deadline', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a');
    const got: number[] = [];
    const sub = await store.subscribe('s', { ackWaitMs: 150 }, async (e) => {
      got.push(e.streamSeq);
      if (got.length === 1) await new Promise(() => {}); // hangs for ever
    });
    await until(() => got.length === 2);
    expect(got).toEqual([1, 1]);
    await until(async () => (await store.subscriptionLag('s')) === 0);
    await sub.stop();
  });

  it('resumes after close and reopen, redelivering the unacknowledged event', async () => {
    const dir = tempDir();
    const store = await open(dir);
    for (const id of ['a', 'b', 'c', 'd']) await next(store, 'lease', id);
    const first: number[] = [];
    await store.subscribe('proj', {}, async (e) => {
      first.push(e.streamSeq);
      if (e.streamSeq === 3) throw new Error('not now');
    });
    await until(() => first.length >= 3);
    await store.close(); // stops the subscription
    expect(first.slice(0, 3)).toEqual([1, 2, 3]);

    const again = await open(dir);
    expect(await again.subscriptionLag('proj')).toBe(2);
    const second: number[] = [];
    await again.subscribe('proj', {}, async (e) => void second.push(e.streamSeq));
    await until(() => second.length === 2);
    expect(second).toEqual([3, 4]);
    await next(again, 'lease', 'e');
    await until(() => second.length === 3);
    expect(second).toEqual([3, 4, 5]);
  });

  it('resumes after stop and subscribe again; deleteSubscription starts over', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a');
    await next(store, 'lease', 'b');
    const got: number[] = [];
    const handler = async (e: StoredEvent) => void got.push(e.streamSeq);
    const sub = await store.subscribe('s', {}, handler);
    await until(() => got.length === 2);
    await sub.stop();
    const noop = async () => {};
    const x = await store.subscribe('x', {}, noop);
    await expect(store.subscribe('x', {}, noop)).rejects.toMatchObject({ code: 'CONFLICT' });
    await x.stop();

    await next(store, 'lease', 'c');
    expect(await store.subscriptionLag('s')).toBe(1);
    const sub2 = await store.subscribe('s', {}, handler);
    await until(() => got.length === 3);
    expect(got).toEqual([1, 2, 3]);

    await store.deleteSubscription('s');
    expect(await store.subscriptionLag('s')).toBeUndefined();
    await sub2.stop(); // already stopped by the delete: harmless
    await store.subscribe('s', {}, handler);
    await until(() => got.length === 6);
    expect(got).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('keeps at most maxInFlight handlers running', async () => {
    const store = await open(tempDir());
    for (let i = 0; i < 12; i++) await next(store, 'lease', `k${i}`);
    let running = 0;
    let peak = 0;
    const got: number[] = [];
    const sub = await store.subscribe('par', { maxInFlight: 3 }, async (e) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 5 + (e.streamSeq % 3) * 5));
      running--;
      got.push(e.streamSeq);
    });
    await until(() => got.length === 12);
    expect(peak).toBe(3);
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await store.subscriptionLag('par')).toBe(0);
    await sub.stop();
  });

  it('stop() waits for the handler in flight', async () => {
    const store = await open(tempDir());
    await next(store, 'lease', 'a');
    let finished = false;
    let started = false;
    const sub = await store.subscribe('s', {}, async () => {
      started = true;
      await new Promise((r) => setTimeout(r, 100));
      finished = true;
    });
    await until(() => started);
    await sub.stop();
    expect(finished).toBe(true);
    expect(await store.subscriptionLag('s')).toBe(0);
  });
});

describe('EmbeddedEventStore: KV', () => {
  it('gets, puts, creates, updates with compare-and-set, deletes and lists keys', async () => {
    const store = await open(tempDir());
    const kv = await store.kv('tether_leases');
    expect(kv.name).toBe('tether_leases');
    expect(await kv.get('a')).toBeUndefined();
    expect(await kv.put('a', { n: 1, at: new Date(0) })).toBe(1);
    expect(await kv.get('a')).toEqual({ key: 'a', value: { n: 1, at: '1970-01-01T00:00:00.000Z' }, revision: 1 });
    expect(await kv.create('b', 'x')).toBe(2);
    await expect(kv.create('b', 'y')).rejects.toBeInstanceOf(KvRevisionError);
    await expect(kv.create('b', 'y')).rejects.toMatchObject({ bucket: 'tether_leases', key: 'b', expected: 'absent' });
    expect(await kv.update('a', { n: 2 }, 1)).toBe(3);
    const conflict = await kv.update('a', { n: 3 }, 1).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(KvRevisionError);
    expect(conflict).toMatchObject({ key: 'a', expected: 1 });
    expect((await kv.get('a'))?.value).toEqual({ n: 2 });
    expect((await kv.keys()).sort()).toEqual(['a', 'b']);
    await kv.delete('b');
    expect(await kv.get('b')).toBeUndefined();
    expect(await kv.keys()).toEqual(['a']);
    expect(await kv.create('b', 'again')).toBe(5); // revision 4 was the delete
    await expect(kv.put('bad key', 1)).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
    await expect(store.kv('bad.bucket')).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
  });

  it('persists values and revisions across reopen; destroyKv drops the bucket', async () => {
    const dir = tempDir();
    const store = await open(dir);
    const kv = await store.kv('b1');
    await kv.put('a', 1);
    await kv.put('a', 2);
    await kv.delete('a');
    await kv.put('c', 3);
    await store.close();

    const again = await open(dir);
    const kv2 = await again.kv('b1');
    expect(await kv2.get('a')).toBeUndefined();
    expect(await kv2.get('c')).toEqual({ key: 'c', value: 3, revision: 4 });
    expect(await kv2.put('d', 4)).toBe(5);

    await again.destroyKv('b1');
    await expect(kv2.get('c')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const fresh = await again.kv('b1');
    expect(await fresh.keys()).toEqual([]);
    expect(await fresh.put('x', 1)).toBe(1);
  });

  it('compacts a bucket file on open, keeping revisions', async () => {
    const dir = tempDir();
    const store = await open(dir);
    const kv = await store.kv('busy');
    for (let i = 1; i <= 1500; i++) await kv.put(i % 2 ? 'odd' : 'even', i);
    await kv.delete('even');
    await store.close();
    const again = await open(dir);
    const kv2 = await again.kv('busy');
    expect(
      readFileSync(join(dir, 'kv', 'busy.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(2);
    expect(await kv2.get('odd')).toEqual({ key: 'odd', value: 1499, revision: 1499 });
    expect(await kv2.get('even')).toBeUndefined();
    expect(await kv2.update('even', 0, 1501)).toBe(1502); // the delete marker kept the key's revision
  });

  it('watch yields the current values, then every change, until the signal aborts', async () => {
    const store = await open(tempDir());
    const kv = await store.kv('w');
    await kv.put('a', 1);
    await kv.put('b', 2);
    await kv.delete('b');
    const ac = new AbortController();
    const seen: KvChange[] = [];
    const done = (async () => {
      for await (const c of kv.watch({ signal: ac.signal })) seen.push(c);
    })();
    const updatesOnly: KvChange[] = [];
    const ac2 = new AbortController();
    const done2 = (async () => {
      for await (const c of kv.watch({ signal: ac2.signal, initial: false })) updatesOnly.push(c);
    })();
    await until(() => seen.length === 1);
    await kv.put('c', 3);
    await kv.update('a', 10, 1);
    await kv.delete('c');
    await until(() => seen.length === 4 && updatesOnly.length === 3);
    ac.abort();
    ac2.abort();
    await Promise.all([done, done2]);
    expect(seen).toEqual([
      { key: 'a', value: 1, revision: 1, op: 'put' },
      { key: 'c', value: 3, revision: 4, op: 'put' },
      { key: 'a', value: 10, revision: 5, op: 'put' },
      { key: 'c', value: undefined, revision: 6, op: 'delete' },
    ]);
    expect(updatesOnly).toEqual(seen.slice(1));
  });

  it('a read-only store reads and watches what the writer puts; close ends watchers', async () => {
    const dir = tempDir();
    const writer = await open(dir);
    const kv = await writer.kv('shared');
    await kv.put('a', 1);
    const reader = await open(dir, { readOnly: true });
    const rkv = await reader.kv('shared');
    expect(await rkv.get('a')).toEqual({ key: 'a', value: 1, revision: 1 });
    const seen: KvChange[] = [];
    const done = (async () => {
      for await (const c of rkv.watch({ signal: new AbortController().signal })) seen.push(c);
    })();
    await kv.put('b', 2);
    await until(() => seen.length === 2);
    expect(seen.map((c) => c.key)).toEqual(['a', 'b']);
    await reader.close();
    await done; // ended by close
  });
});
