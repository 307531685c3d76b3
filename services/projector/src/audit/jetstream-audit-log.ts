import { AuditEntry, AuditRecord, STREAM_AUDIT, TetherError, auditSubjects, invalid } from '@tether/contracts';
import { auditStreamConfig, type AuditStreamOptions } from '@tether/infra';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  LruMap,
  StreamRangeReader,
  ensureStream,
  failOnDisconnect,
  getStreamMessage,
  isWrongLastSequence,
  storeErrorsOf,
  toStoreError,
} from '@tether/runtime';
import type { AuditLog, AuditReadOptions } from './audit-log.ts';
import { ChainVerifier, sealRecord, type ChainVerdict } from './audit-record.ts';
import { DEFAULT_AUDIT_READ_LIMIT, matchesRead, verbOf } from './read-filter.ts';

/** Records read at start to know the chain's end and the event ids audited lately. */
const PRIME_RECORDS = 1_000;
/** Event ids remembered as audited; with msgID de-duplication this covers redeliveries past the window. */
const RECENT_IDS = 20_000;
const MAX_CONFLICTS = 50;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * TETHER_AUDIT: one message per record on tether.audit.<entity>.<verb>, and a record's seq is its
 * stream sequence. Each publish expects the stream's last sequence to be the one the record chains
 * to, so two writers cannot fork the chain: the loser re-reads the new tail and tries again. msgID =
 * event id makes a re-sent event return the record written for it (checked before the sequence).
 */
export class JetStreamAuditLog implements AuditLog {
  readonly kind = 'jetstream' as const;
  /** Stream seq of the last message, and hash of the last valid record (what the next record chains to). */
  private tail: { seq: number; hash: string | null } | undefined;
  private readonly recent = new LruMap<string, number>(RECENT_IDS);
  private queue: Promise<unknown> = Promise.resolve();

  /** Record ranges: gets first, consumers only for long reads (see StreamRangeReader). */
  private readonly ranges: StreamRangeReader;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly key: Buffer,
  ) {
    // As every other audit read: typed errors, and a dropped connection fails the read at once.
    this.ranges = new StreamRangeReader(nc, jsm, STREAM_AUDIT, (what, fn) =>
      auditErrorsOf(what, () => failOnDisconnect(nc, fn(), () => dropped(what))),
    );
  }

  /** Declares the stream (or brings it to the declared config) on an open connection; `key` keys the hash chain. */
  static async open(
    nc: NatsConnection,
    opts: AuditStreamOptions & { key: Buffer; timeoutMs?: number },
  ): Promise<JetStreamAuditLog> {
    const timeout = opts.timeoutMs ?? 5_000;
    return auditErrorsOf('open', async () => {
      const jsm = await jetstreamManager(nc, { timeout });
      await ensureStream(jsm, auditStreamConfig(opts));
      return new JetStreamAuditLog(nc, jetstream(nc, { timeout }), jsm, opts.key);
    });
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    const parsed = AuditEntry.safeParse(entry);
    if (!parsed.success) return Promise.reject(invalid('audit entry', parsed.error));
    // One append at a time per instance: the next one needs this one's hash.
    const run = this.queue.then(() => this.appendNow(parsed.data));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(entry: AuditEntry): Promise<AuditRecord> {
    const subject = auditSubjects.record(entry.entity, verbOf(entry));
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const tail = this.tail ?? (await this.prime());
      const seen = this.recent.get(entry.eventId);
      const earlier = seen === undefined ? undefined : await this.get(seen);
      if (earlier?.eventId === entry.eventId) return earlier;
      const record = sealRecord(entry, tail.seq + 1, tail.hash, this.key);
      try {
        const publish = this.js.publish(subject, encoder.encode(JSON.stringify(record)), {
          msgID: entry.eventId,
          expect: { lastSequence: tail.seq },
        });
        const ack = await failOnDisconnect(this.nc, publish, () => dropped('append'));
        if (ack.duplicate) {
          const original = await this.get(ack.seq);
          if (!original)
            throw new TetherError(
              'INTERNAL',
              `audit stream seq ${ack.seq} (the record of event ${entry.eventId}) is not a valid record`,
            );
          this.recent.set(original.eventId, original.seq);
          return original;
        }
        this.tail = { seq: ack.seq, hash: record.hash };
        this.recent.set(entry.eventId, ack.seq);
        return record;
      } catch (err) {
        if (isWrongLastSequence(err)) {
          await this.catchUp(); // another writer appended: chain to its record instead
          continue;
        }
        this.tail = undefined; // outcome unknown (timeout, disconnect): read the tail again next time
        throw toStoreError(err, 'append', AUDIT_STREAM);
      }
    }
    throw new TetherError(
      'CONFLICT',
      `audit append of event ${entry.eventId} lost ${MAX_CONFLICTS} races for the end of the chain; it will be retried`,
    );
  }

  async read(opts: AuditReadOptions = {}): Promise<AuditRecord[]> {
    const limit = opts.limit ?? DEFAULT_AUDIT_READ_LIMIT;
    const filter = opts.entity ? auditSubjects.entity(opts.entity) : auditSubjects.all;
    const end = await this.lastSeq(filter);
    const pick = (m: Raw) => {
      const r = AuditRecord.safeParse(m.value);
      return r.success && matchesRead(r.data, opts) ? r.data : undefined;
    };
    if (opts.afterSeq !== undefined) {
      const out: AuditRecord[] = [];
      for await (const m of this.range(opts.afterSeq + 1, end, filter)) {
        const r = pick(m);
        if (r) out.push(r);
        if (out.length >= limit) break;
      }
      return out;
    }
    // The newest `limit`: read windows backwards from the end, each twice the last, until enough.
    let out: AuditRecord[] = [];
    for (let hi = end, size = Math.max(limit, 64); hi >= 1 && out.length < limit; hi -= size, size *= 2) {
      const chunk: AuditRecord[] = [];
      for await (const m of this.range(Math.max(1, hi - size + 1), hi, filter)) {
        const r = pick(m);
        if (r) chunk.push(r);
      }
      out = chunk.concat(out);
    }
    return out.slice(-limit);
  }

  async last(): Promise<AuditRecord | undefined> {
    for (let seq = await this.lastSeq(auditSubjects.all); seq >= 1; seq--) {
      const r = await this.get(seq);
      if (r) return r;
    }
    return undefined;
  }

  async verify(): Promise<ChainVerdict> {
    const v = new ChainVerifier(this.key);
    for await (const m of this.range(1, await this.lastSeq(auditSubjects.all))) if (!v.push(m.value, m.seq)) break;
    return v.verdict();
  }

  async close(): Promise<void> {}

  /** Reads the end of the stream: where the chain continues, and the event ids audited lately. */
  private async prime(): Promise<{ seq: number; hash: string | null }> {
    const end = await this.lastSeq(auditSubjects.all);
    let tail = { seq: end, hash: null as string | null };
    for await (const m of this.range(Math.max(1, end - PRIME_RECORDS + 1), end)) tail = this.absorb(tail, m);
    if (tail.hash === null && end > PRIME_RECORDS) tail.hash = (await this.last())?.hash ?? null; // only foreign messages lately
    this.tail = tail;
    return tail;
  }

  /** After a lost race: takes in every message since our tail. */
  private async catchUp(): Promise<void> {
    const from = this.tail;
    if (!from) return;
    const end = await this.lastSeq(auditSubjects.all);
    let tail = from;
    for await (const m of this.range(from.seq + 1, end)) tail = this.absorb(tail, m);
    this.tail = tail;
  }

  private absorb(tail: { seq: number; hash: string | null }, m: Raw) {
    const r = AuditRecord.safeParse(m.value);
    if (!r.success) return { seq: m.seq, hash: tail.hash }; // not ours (a stray publish): verify reports it
    this.recent.set(r.data.eventId, r.data.seq);
    return { seq: m.seq, hash: r.data.hash };
  }

  private async get(seq: number): Promise<AuditRecord | undefined> {
    const m = await this.getMsg({ seq });
    const r = m && AuditRecord.safeParse(decode(m.data));
    return r?.success ? r.data : undefined;
  }

  /** Stream seq of the last message matching `filter`, 0 when none. */
  private async lastSeq(filter: string): Promise<number> {
    return (await this.getMsg({ last_by_subj: filter }))?.seq ?? 0;
  }

  private getMsg(query: { seq: number } | { last_by_subj: string }) {
    const get = () => getStreamMessage(this.jsm, STREAM_AUDIT, query);
    return auditErrorsOf('read', () => failOnDisconnect(this.nc, get(), () => dropped('read')));
  }

  /** Messages matching `filter` with stream seq in [from, to]. */
  private async *range(from: number, to: number, filter: string = auditSubjects.all): AsyncIterable<Raw> {
    for await (const m of this.ranges.read(filter, from - 1, to)) yield { seq: m.seq, value: decode(m.data) };
  }
}

interface Raw {
  seq: number;
  value: unknown;
}

/** A message that is not JSON stays a string: verify reports it as no audit record. */
function decode(data: Uint8Array): unknown {
  const text = decoder.decode(data);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const AUDIT_STREAM = 'audit stream';

const auditErrorsOf = <T>(what: string, fn: () => Promise<T>) => storeErrorsOf(fn, what, AUDIT_STREAM);

/** A request the connection dropped under: its answer will not come, so it fails at once. */
const dropped = (what: string) =>
  new TetherError('UNAVAILABLE', `${AUDIT_STREAM} unavailable (${what}): the NATS connection dropped; retry shortly`);
