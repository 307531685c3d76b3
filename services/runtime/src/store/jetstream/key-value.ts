import { kvBucketConfig } from '@tether/infra';
import { Kvm, type KV } from '@nats-io/kv';
import { decodeJson, encodeJson } from '../port.ts';
import {
  KvRevisionError,
  type KeyValueStore,
  type KvBucket,
  type KvBucketOptions,
  type KvChange,
} from '../ports/key-value.ts';
import type { JetStreamConnection } from './connection.ts';
import { isStreamNotFound, isWrongLastSequence, toStoreError } from './errors.ts';

/** NATS KV buckets (a stream KV_<bucket> each), opened once per store and cached. */
export class JetStreamKeyValue implements KeyValueStore {
  private readonly kvm: Kvm;
  private readonly buckets = new Map<string, Promise<KvBucket>>();

  constructor(
    private readonly conn: JetStreamConnection,
    private readonly opts: { replicas?: number },
  ) {
    this.kvm = new Kvm(conn.nc);
  }

  kv(bucket: string, opts: KvBucketOptions = {}): Promise<KvBucket> {
    let b = this.buckets.get(bucket);
    if (!b) {
      b = this.conn.guarded('kv open', async () => {
        const kv = await this.kvm.create(bucket, {
          ...kvBucketConfig(this.opts),
          ...(opts.ttlMs ? { ttl: opts.ttlMs } : {}),
        });
        await this.applyTtl(bucket, opts.ttlMs ?? 0);
        return new JetStreamKv(bucket, kv, this.conn);
      });
      b.catch(() => this.buckets.delete(bucket));
      this.buckets.set(bucket, b);
    }
    return b;
  }

  /** Kvm.create leaves an existing bucket as it was: bring its max_age to the TTL asked for now. */
  private async applyTtl(bucket: string, ttlMs: number) {
    const { jsm } = this.conn;
    const info = await jsm.streams.info(`KV_${bucket}`);
    const maxAge = ttlMs * 1_000_000;
    if (info.config.max_age === maxAge) return;
    // JetStream refuses a duplicate window longer than max_age.
    const window = maxAge > 0 ? Math.min(info.config.duplicate_window, maxAge) : info.config.duplicate_window;
    await jsm.streams.update(`KV_${bucket}`, { ...info.config, max_age: maxAge, duplicate_window: window });
  }

  async destroyKv(bucket: string): Promise<void> {
    this.buckets.delete(bucket);
    try {
      await this.conn.jsm.streams.delete(`KV_${bucket}`);
    } catch (err) {
      if (!isStreamNotFound(err)) throw toStoreError(err, 'destroy kv');
    }
  }
}

class JetStreamKv implements KvBucket {
  constructor(
    readonly name: string,
    private readonly kv: KV,
    private readonly conn: JetStreamConnection,
  ) {}

  async get<T>(key: string) {
    const e = await this.conn.guarded('kv get', () => this.kv.get(key));
    if (e?.operation !== 'PUT') return undefined;
    return { key, value: decodeJson<T>(e.value), revision: e.revision };
  }
  put(key: string, value: unknown) {
    return this.conn.guarded('kv put', () => this.kv.put(key, encodeJson(value)));
  }
  async create(key: string, value: unknown) {
    return this.conn.guarded('kv create', async () => {
      try {
        return await this.kv.create(key, encodeJson(value));
      } catch (err) {
        throw isWrongLastSequence(err) ? new KvRevisionError(this.name, key, 'absent') : err;
      }
    });
  }
  async update(key: string, value: unknown, revision: number) {
    return this.conn.guarded('kv update', async () => {
      try {
        return await this.kv.update(key, encodeJson(value), revision);
      } catch (err) {
        throw isWrongLastSequence(err) ? new KvRevisionError(this.name, key, revision) : err;
      }
    });
  }
  async delete(key: string) {
    await this.conn.guarded('kv delete', () => this.kv.delete(key));
  }
  async keys() {
    // A Set: in a cluster the lister's ordered consumer may be reset and hand a key over twice.
    const out = new Set<string>();
    for await (const k of await this.conn.guarded('kv keys', () => this.kv.keys())) out.add(k);
    return [...out];
  }
  async *watch<T>(opts: { signal: AbortSignal; initial?: boolean }): AsyncIterable<KvChange<T>> {
    const it = await this.conn.guarded('kv watch', () =>
      this.kv.watch({ include: opts.initial === false ? 'updates' : 'lastValue' } as never),
    );
    const onAbort = () => it.stop();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    if (opts.signal.aborted) onAbort(); // aborted while the watcher was being created
    try {
      for await (const e of it) {
        const op = e.operation === 'PUT' ? 'put' : 'delete';
        yield { key: e.key, revision: e.revision, op, value: op === 'put' ? decodeJson<T>(e.value) : undefined };
      }
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
    }
  }
}
