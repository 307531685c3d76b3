import { kvBucketConfig } from '@tether/infra';
import { Kvm, type KV } from '@nats-io/kv';
import { decodeJson, encodeJson } from '../port.ts';
import {
  KvRevisionError,
  checkKvKey,
  type KeyValueStore,
  type KvBucket,
  type KvBucketOptions,
  type KvChange,
  type KvEntry,
} from '../ports/key-value.ts';
import type { JetStreamConnection } from './connection.ts';
import { isStreamNotFound, isWrongLastSequence, toStoreError } from './errors.ts';
import { getStreamMessage } from './streams.ts';

/** The header that marks a KV delete or purge (nats.js kv). */
const KV_OPERATION = 'KV-Operation';
/** Gets in flight at once when a list reads its entries. */
const GET_BATCH = 64;

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
  /** The subject of key k is prefix + k. */
  private readonly prefix: string;

  constructor(
    readonly name: string,
    private readonly kv: KV,
    private readonly conn: JetStreamConnection,
  ) {
    this.prefix = `$KV.${name}.`;
  }

  /**
   * Through the stream leader, not kv.get(): that is a direct get, which a replica that lags may answer
   * (in an R3 bucket, 6 reads in 300 right after a put returned the value before it).
   */
  async get<T>(key: string) {
    checkKvKey(key);
    const m = await this.conn.guarded('kv get', () =>
      getStreamMessage(this.conn.jsm, `KV_${this.name}`, { last_by_subj: `${this.prefix}${key}` }),
    );
    const op = m?.header?.get(KV_OPERATION);
    if (!m || op === 'DEL' || op === 'PURGE') return undefined;
    return { key, value: decodeJson<T>(m.data), revision: m.seq };
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
    return (await this.entries()).map((e) => e.key);
  }
  async entries<T>(prefix = ''): Promise<KvEntry<T>[]> {
    const keys = await this.keysUnder(prefix);
    const out: KvEntry<T>[] = [];
    // Gets in parallel, a batch at a time: a list of 1,000 actors is 1,000 gets.
    for (let i = 0; i < keys.length; i += GET_BATCH) {
      for (const e of await Promise.all(keys.slice(i, i + GET_BATCH).map((k) => this.get<T>(k)))) if (e) out.push(e);
    }
    return out;
  }

  /**
   * The keys under `prefix`, sorted, from the stream's subject map (deleted keys too: their marker is a
   * message; `get` drops them). Not kv.keys(): that one is an ephemeral consumer, which nats-server 2.9
   * places on any replica, a dead one included (with one node of three killed, a third of the listings
   * timed out), and it hands over a key that is written again mid-listing twice. The map comes from the
   * stream leader, which a lost node only makes wait for an election, and names each subject once.
   */
  private async keysUnder(prefix: string): Promise<string[]> {
    const base = this.prefix;
    // The prefix's whole tokens narrow the map on the server ("share.ab" asks for share.>); the rest is filtered here.
    const subjects_filter = `${base}${prefix.slice(0, prefix.lastIndexOf('.') + 1)}>`;
    const info = await this.conn.guarded('kv keys', () =>
      this.conn.jsm.streams.info(`KV_${this.name}`, { subjects_filter }),
    );
    return Object.keys(info.state.subjects ?? {})
      .map((subject) => subject.slice(base.length))
      .filter((key) => key.startsWith(prefix))
      .sort();
  }
  async head(): Promise<number> {
    const info = await this.conn.guarded('kv head', () => this.conn.jsm.streams.info(`KV_${this.name}`));
    return info.state.last_seq;
  }
  async *watch<T>(opts: { signal: AbortSignal; initial?: boolean; after?: number }): AsyncIterable<KvChange<T>> {
    // A revision is the message's stream sequence: resuming after one starts at the next (history 1: each key's last).
    const from = opts.after !== undefined ? { resumeFromRevision: opts.after + 1 } : {};
    const it = await this.conn.guarded('kv watch', () =>
      this.kv.watch({ include: opts.initial === false ? 'updates' : 'lastValue', ...from } as never),
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
