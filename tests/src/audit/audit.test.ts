import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { AuditRecord, STREAM_AUDIT, type StoredEvent } from '@tether/contracts';
import { registry } from '@tether/machines';
import { ActorHost, EmbeddedEventStore, type EventStore, type Logger } from '@tether/runtime';
import { AuditProjector, FileAuditLog, JetStreamAuditLog, auditLogFor, type AuditLog } from '@tether/projector';
import { cmd, eventually, uid, useNats } from '../harness/index.ts';

/** One audit key for the file: every writer of a trail holds the same key (see loadAuditKey). */
const key = randomBytes(32);

/** A logger that keeps what it is given, to check that lines carry correlation ids and no data. */
function captureLogger(lines: Record<string, unknown>[]): Logger {
  const write = (obj: unknown, msg?: string) => void lines.push({ ...(obj as object), msg });
  const logger = {
    debug: write,
    info: write,
    warn: write,
    error: write,
    trace: write,
    fatal: write,
    child: () => logger,
    level: 'debug',
  };
  return logger as unknown as Logger;
}

const leaseRun = async (host: ActorHost, id: string) => {
  const created = await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
  await host.execute(cmd('lease', 'renew', id, { ttlMs: 900_000 }));
  await host.execute(cmd('lease', 'release', id, { reason: 'handing over to bo' }));
  return created;
};

/** A projector over lease `id`'s 3 events that crashes once per event between its append and its ack. */
async function crashEachOnce(store: EventStore, log: AuditLog, name: string, id: string) {
  const crashy = new AuditProjector(store, log, { entities: ['lease'] });
  const crashed = new Set<string>();
  const sub = await store.subscribe(name, { filter: `tether.evt.lease.${id}`, maxInFlight: 1 }, async (e) => {
    await crashy.handle(e);
    if (!crashed.has(e.event.id)) {
      crashed.add(e.event.id);
      throw new Error('crashed after the append, before the ack');
    }
  });
  await eventually(
    () => store.subscriptionLag(name),
    (lag) => lag === 0 && crashed.size === 3,
  );
  await sub.stop();
}

const recordsOf = async (log: AuditLog, id: string) =>
  log.read({ entity: 'lease', entityId: id, afterSeq: 0, limit: 1_000 });
const allRecords = async (log: AuditLog) => log.read({ afterSeq: 0, limit: 1_000 });

/** The record of each event, in event order, with who, when and why. */
function expectOneRecordPerEvent(records: AuditRecord[], events: StoredEvent[]) {
  expect(records.map((r) => r.eventId)).toEqual(events.map((e) => e.event.id));
  records.forEach((r, i) => {
    const e = events[i]!;
    expect(r).toMatchObject({
      streamSeq: e.streamSeq,
      at: e.event.at,
      action: e.event.type,
      entity: 'lease',
      entityId: e.event.entityId,
      actor: e.event.actor,
      correlationId: e.event.correlationId,
      causationId: e.event.causationId,
      state: e.event.state,
      data: e.event.data, // nothing secret-looking in a lease: data passes through
    });
    if (i > 0) expect(r.seq).toBeGreaterThan(records[i - 1]!.seq);
  });
  expect(records.map((r) => r.reason)).toEqual(['(new) -> held', null, 'handing over to bo']);
}

describe('audit trail on JetStream', () => {
  const ctx = useNats();
  const lines: Record<string, unknown>[] = [];

  it('records every lease event once, in order, chained, on tether.audit.<entity>.<verb>, with logs that carry correlation ids and no data', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const log = await auditLogFor(ctx.store, { key });
    expect(log).toBeInstanceOf(JetStreamAuditLog);
    const heard: { subject: string; record: AuditRecord }[] = [];
    const ops = ctx.store.nc.subscribe('tether.audit.>', {
      callback: (_e, m) => void heard.push({ subject: m.subject, record: AuditRecord.parse(m.json()) }),
    });

    const id = uid('lease');
    const created = await leaseRun(host, id);
    const projector = new AuditProjector(ctx.store, log, { entities: ['lease'], logger: captureLogger(lines) });
    await projector.start();
    await projector.waitCaughtUp();
    await projector.stop();

    const records = await recordsOf(log, id);
    expectOneRecordPerEvent(records, await ctx.store.readEntity('lease', id));
    expect(records[0]!.correlationId).toBe(created.correlationId);
    expect(await log.verify()).toMatchObject({ ok: true });

    await eventually(
      () => heard.filter((h) => h.record.entityId === id).length,
      (n) => n === 3,
    );
    const mine = heard.filter((h) => h.record.entityId === id);
    expect(mine.map((h) => h.subject)).toEqual([
      'tether.audit.lease.create',
      'tether.audit.lease.renew',
      'tether.audit.lease.release',
    ]);
    expect(mine.map((h) => h.record)).toEqual(records);
    ops.unsubscribe();

    const info = await (await jetstreamManager(ctx.store.nc)).streams.info(STREAM_AUDIT);
    expect(info.config).toMatchObject({
      subjects: ['tether.audit.>'],
      storage: 'file',
      deny_delete: true,
      deny_purge: true,
    });
    expect(info.state.last_seq).toBe((await log.last())!.seq); // a record's seq is its stream sequence

    const audited = lines.filter((l) => l.msg === 'audited');
    expect(audited.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) {
      expect(l.correlationId, JSON.stringify(l)).toEqual(expect.any(String));
      expect(JSON.stringify(l)).not.toContain('handing over'); // the reason and data stay out of logs
      expect(l).not.toHaveProperty('data');
    }
  });

  it('two projectors on one subscription, each with its own writer, and a redelivery after a crash add no duplicate and fork nothing', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const [logA, logB] = [
      await JetStreamAuditLog.open(ctx.store.nc, { key }),
      await JetStreamAuditLog.open(ctx.store.nc, { key }),
    ];
    const a = new AuditProjector(ctx.store, logA, { entities: ['lease'] });
    const b = new AuditProjector(ctx.store, logB, { entities: ['lease'] });
    await Promise.all([a.start(), b.start()]);
    const ids = Array.from({ length: 8 }, () => uid('race'));
    await Promise.all(ids.map((id) => leaseRun(host, id)));
    await a.waitCaughtUp();
    await Promise.all([a.stop(), b.stop()]);
    for (const id of ids) expect((await recordsOf(logA, id)).length).toBe(3);
    expect(await logB.verify()).toMatchObject({ ok: true });

    // A projector that crashes between its append and its ack: every event comes back once more.
    const id = ids[0]!;
    const before = (await allRecords(logA)).length;
    await crashEachOnce(ctx.store, logB, `audit-crashy-${id}`, id);
    expect((await allRecords(logA)).length).toBe(before);
    expect(await logA.verify()).toMatchObject({ ok: true });
  });

  it('a stopped projector picks up where it stopped: the chain continues without gaps', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const log = await JetStreamAuditLog.open(ctx.store.nc, { key });
    const lastBefore = (await log.last())!;
    const id = uid('down');
    await leaseRun(host, id); // written while no projector runs
    const restarted = new AuditProjector(ctx.store, await JetStreamAuditLog.open(ctx.store.nc, { key }), {
      entities: ['lease'],
    });
    await restarted.start();
    await restarted.waitCaughtUp();
    await restarted.stop();
    const records = await recordsOf(log, id);
    expectOneRecordPerEvent(records, await ctx.store.readEntity('lease', id));
    expect(records[0]).toMatchObject({ seq: lastBefore.seq + 1, prevHash: lastBefore.hash });
    expect(await log.verify()).toMatchObject({ ok: true, records: records.at(-1)!.seq });
  });

  it('reads the newest page, pages after a seq, and filters by entity and id', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const log = await JetStreamAuditLog.open(ctx.store.nc, { key });
    const projector = new AuditProjector(ctx.store, log, { entities: ['lease', 'codexSession'] });
    const id = uid('read');
    await leaseRun(host, id);
    await projector.start();
    await projector.waitCaughtUp();
    await projector.stop();
    const last = (await log.last())!;
    expect((await log.read({ limit: 2 })).map((r) => r.seq)).toEqual([last.seq - 1, last.seq]);
    expect((await log.read({ entity: 'lease', entityId: id })).map((r) => r.action)).toEqual([
      'lease.create',
      'lease.renew',
      'lease.release',
    ]);
    expect((await log.read({ entity: 'lease', entityId: id, limit: 1 })).map((r) => r.action)).toEqual([
      'lease.release',
    ]);
    expect((await log.read({ afterSeq: last.seq - 3, limit: 2 })).map((r) => r.seq)).toEqual([
      last.seq - 2,
      last.seq - 1,
    ]);
    expect(await log.read({ afterSeq: last.seq })).toEqual([]);
    expect(await log.read({ entity: 'codexSession' })).toEqual([]);
    expect(await log.read({ entityId: 'nobody', afterSeq: 0 })).toEqual([]);
    const all = await log.read({ afterSeq: 0, limit: 1_000 });
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: last.seq }, (_, i) => i + 1));
    expect(await log.read({ limit: 1_000 })).toEqual(all); // the backwards windows reach the start
  });

  it('two writers racing for the end of the chain both land, in one unforked chain, and a shared event id lands once', async () => {
    const [a, b] = [
      await JetStreamAuditLog.open(ctx.store.nc, { key }),
      await JetStreamAuditLog.open(ctx.store.nc, { key }),
    ];
    await Promise.all([a.last(), b.last()]);
    const entry = (n: string) => ({
      eventId: n,
      streamSeq: 1,
      at: new Date().toISOString(),
      action: 'share.revoke',
      entity: 'share',
      entityId: 's1',
      actor: { kind: 'human' as const, id: 'ann' },
      reason: null,
      state: 'revoked',
      correlationId: n,
      causationId: n,
      data: {},
    });
    const ids = Array.from({ length: 20 }, (_, i) => uid(`w${i}`));
    const written = await Promise.all(
      ids.flatMap((id, i) => [a.append(entry(id)), (i % 2 ? a : b).append(entry(`${id}-b`)), b.append(entry(id))]),
    );
    for (let i = 0; i < ids.length; i++) expect(written[i * 3]).toEqual(written[i * 3 + 2]); // same event id: the same record
    expect(new Set(written.map((r) => r.seq)).size).toBe(40);
    expect(await a.verify()).toMatchObject({ ok: true });
  });

  it('a stray message on tether.audit.> is reported by verify and does not stop auditing', async () => {
    const log = await JetStreamAuditLog.open(ctx.store.nc, { key });
    const before = (await log.last())!;
    ctx.store.nc.publish('tether.audit.share.revoke', 'not a record');
    await ctx.store.nc.flush();
    const host = new ActorHost({ store: ctx.store, registry });
    const id = uid('after-stray');
    await leaseRun(host, id);
    const projector = new AuditProjector(ctx.store, log, { entities: ['lease'] });
    await projector.start();
    await projector.waitCaughtUp();
    await projector.stop();
    const records = await recordsOf(log, id);
    expect(records[0]).toMatchObject({ seq: before.seq + 2, prevHash: before.hash });
    expect(await log.verify()).toMatchObject({
      ok: false,
      records: before.seq,
      brokenAt: before.seq + 1,
      why: expect.stringMatching(/not a valid audit record/),
    });
  });
});

describe('audit trail on the embedded store', () => {
  const dirs: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const openRig = async (dir: string) => {
    const store = await EmbeddedEventStore.open(dir);
    const log = await auditLogFor(store, { key });
    closers.push(
      () => store.close(),
      () => log.close(),
    );
    return { store, log, host: new ActorHost({ store, registry }) };
  };

  it('records each event once, survives a redelivery and a restart of the process, and verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-audit-embedded-'));
    dirs.push(dir);
    let { store, log, host } = await openRig(dir);
    expect(log).toBeInstanceOf(FileAuditLog);

    const id = uid('lease');
    await leaseRun(host, id);
    let projector = new AuditProjector(store, log, { entities: ['lease'] });
    await projector.start();
    await projector.waitCaughtUp();
    expectOneRecordPerEvent(await recordsOf(log, id), await store.readEntity('lease', id));

    // Crash between append and ack, on a second subscription over the same events.
    await crashEachOnce(store, log, 'audit-crashy', id);
    expect((await allRecords(log)).length).toBe(3);

    // Stop everything, write while the audit is down, reopen the files as a new process would.
    await projector.stop();
    const id2 = uid('down');
    await leaseRun(host, id2);
    await log.close();
    await store.close();
    ({ store, log, host } = await openRig(dir));
    projector = new AuditProjector(store, log, { entities: ['lease'] });
    await projector.start();
    await projector.waitCaughtUp();
    await projector.stop();
    const records = await allRecords(log);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expectOneRecordPerEvent(records.slice(3), await store.readEntity('lease', id2));
    expect(records[3]!.prevHash).toBe(records[2]!.hash);
    expect(await log.verify()).toEqual({ ok: true, records: 6 });
  });
});
