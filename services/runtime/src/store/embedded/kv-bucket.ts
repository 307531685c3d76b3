import { TetherError } from '@tether/contracts';
import { KvRevisionError, checkKvKey, type KvBucket, type KvChange, type KvEntry } from '../port.ts';
import { POLL_MS, Wake, closedError, readOnlyError, type StoreContext } from './common.ts';
import { JsonLinesFile } from './json-lines.ts';

/** One line of a bucket file: a put, or a delete marker (which still carries the key's revision). */
export interface KvRecord {
  rev: number;
  key: string;
  op: 'put' | 'del';
  value?: unknown;
  /** When a put was written (ms since the epoch), kept in buckets with a TTL. */
  at?: number;
}

// The rules of NATS KV, so that what works here also works on JetStream.
const BUCKET = /^[a-zA-Z0-9_-]+$/;

export const checkBucketName = (bucket: string) => {
  if (!BUCKET.test(bucket))
    throw new TetherError('INVALID_COMMAND', `invalid kv bucket name "${bucket}": use letters, digits, "_" or "-"`);
};

/** A KV bucket kept as a log of its changes in one JSON-lines file (compacted when opened). */
export class EmbeddedKv implements KvBucket {
  private readonly last = new Map<string, KvRecord>(); // last record per key, delete markers included
  private revision = 0;
  private readonly listeners = new Set<(change: KvChange) => void>();
  private readonly ended = new AbortController(); // closed or destroyed
  private destroyed = false;

  constructor(
    readonly name: string,
    private readonly file: JsonLinesFile<KvRecord>,
    private readonly ctx: StoreContext,
    private readonly ttlMs = 0,
  ) {
    const records = file.load();
    for (const r of records) this.apply(r);
    const expired = [...this.last.values()].filter((r) => this.isExpired(r));
    for (const r of expired) this.last.delete(r.key);
    // Only the last live record per key matters; drop the history once it outweighs the live data.
    if (!ctx.readOnly && (expired.length > 1000 || records.length > 2 * this.last.size + 1000))
      file.rewrite([...this.last.values()].sort(byRevision));
  }

  static open(ctx: StoreContext, name: string, path: string, ttlMs?: number): EmbeddedKv {
    return new EmbeddedKv(name, new JsonLinesFile<KvRecord>(path, !ctx.readOnly, ctx.logger), ctx, ttlMs);
  }

  async get<T = unknown>(key: string): Promise<KvEntry<T> | undefined> {
    const r = this.current(key);
    return r?.op === 'put' && !this.isExpired(r)
      ? { key, value: structuredClone(r.value) as T, revision: r.rev }
      : undefined;
  }

  async put(key: string, value: unknown): Promise<number> {
    return this.write(key, 'put', value);
  }

  async create(key: string, value: unknown): Promise<number> {
    if (this.current(key)?.op === 'put') throw new KvRevisionError(this.name, key, 'absent');
    return this.write(key, 'put', value);
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    if ((this.current(key)?.rev ?? 0) !== revision) throw new KvRevisionError(this.name, key, revision);
    return this.write(key, 'put', value);
  }

  async delete(key: string): Promise<void> {
    this.write(key, 'del');
  }

  async keys(): Promise<string[]> {
    return this.live().map((r) => r.key);
  }

  async entries<T = unknown>(prefix = ''): Promise<KvEntry<T>[]> {
    return this.live()
      .filter((r) => r.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((r) => ({ key: r.key, value: structuredClone(r.value) as T, revision: r.rev }));
  }

  async head(): Promise<number> {
    this.refresh();
    return this.revision;
  }

  async *watch<T = unknown>(opts: {
    signal: AbortSignal;
    initial?: boolean;
    after?: number;
  }): AsyncIterable<KvChange<T>> {
    const signal = AbortSignal.any([opts.signal, this.ended.signal, this.ctx.closing]);
    const queue: KvChange[] = [];
    const wake = new Wake();
    const listener = (change: KvChange) => {
      queue.push(change);
      wake.notify();
    };
    // Snapshot and registration happen in one synchronous step, so no change falls between them.
    const snapshot = opts.after !== undefined ? this.since(opts.after) : opts.initial !== false ? this.live() : [];
    this.listeners.add(listener);
    try {
      queue.unshift(...snapshot.map((r) => toChange(r)));
      while (!signal.aborted) {
        const change = queue.shift();
        if (change) {
          yield { ...change, value: structuredClone(change.value) } as KvChange<T>;
          continue;
        }
        await wake.wait(signal, this.ctx.readOnly ? POLL_MS : undefined);
        if (!signal.aborted) this.refresh();
      }
    } finally {
      this.listeners.delete(listener);
    }
  }

  /** The last record of a key (put or delete marker), reading the file first in a read-only store. */
  current(key: string): KvRecord | undefined {
    this.refresh();
    return this.last.get(key);
  }

  /** Appends a change and returns its revision; the synchronous core of put/create/update/delete. */
  write(key: string, op: 'put' | 'del', value?: unknown): number {
    this.assertWritable();
    checkKvKey(key);
    const rev = this.revision + 1;
    const at = this.ttlMs > 0 ? { at: Date.now() } : {};
    const record: KvRecord = op === 'put' ? { rev, key, op, value: toJson(value), ...at } : { rev, key, op };
    this.file.append(record);
    this.apply(record);
    return record.rev;
  }

  /** Ends the watchers and releases the file. */
  close(): void {
    this.ended.abort();
    this.file.close();
  }

  /** destroyKv: the file goes, and this handle refuses further use. */
  destroy(): void {
    this.destroyed = true;
    this.close();
    this.file.remove();
  }

  /** The last record of each key written after `revision`, delete markers included, in revision order. */
  private since(revision: number): KvRecord[] {
    this.refresh();
    return [...this.last.values()].filter((r) => r.rev > revision && !this.isExpired(r)).sort(byRevision);
  }

  private live(): KvRecord[] {
    this.refresh();
    return [...this.last.values()].filter((r) => r.op === 'put' && !this.isExpired(r)).sort(byRevision);
  }

  /** Past its TTL, a value reads as absent (as on JetStream, where max_age removes it). */
  private isExpired(r: KvRecord): boolean {
    return this.ttlMs > 0 && r.at !== undefined && r.at + this.ttlMs <= Date.now();
  }

  private refresh(): void {
    this.assertOpen();
    if (!this.ctx.readOnly) return;
    const { records, reset } = this.file.readNew();
    if (reset) {
      // The writer compacted or destroyed the bucket: start over from the new file.
      this.last.clear();
      this.revision = 0;
    }
    for (const r of records) this.apply(r);
  }

  private apply(record: KvRecord): void {
    this.last.set(record.key, record);
    this.revision = Math.max(this.revision, record.rev);
    for (const l of this.listeners) l(toChange(record));
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.ctx.readOnly) throw readOnlyError(this.ctx.dir);
  }

  private assertOpen(): void {
    if (this.destroyed)
      throw new TetherError(
        'UNAVAILABLE',
        `kv bucket ${this.name} was destroyed; get it again with kv("${this.name}")`,
      );
    if (this.ended.signal.aborted) throw closedError(this.ctx.dir);
  }
}

const byRevision = (a: KvRecord, b: KvRecord) => a.rev - b.rev;

const toChange = (r: KvRecord): KvChange => ({
  key: r.key,
  value: r.op === 'put' ? r.value : undefined,
  revision: r.rev,
  op: r.op === 'put' ? 'put' : 'delete',
});

/** Values go through JSON, as on JetStream (dates become strings, undefined fields vanish). */
function toJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TetherError('INVALID_COMMAND', 'a kv value must be JSON');
  return JSON.parse(text);
}
