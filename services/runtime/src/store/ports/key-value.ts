import { TetherError } from '@tether/contracts';

/** Named key-value buckets: actor snapshots, read models, subscription positions. */
export interface KeyValueStore {
  /** Opens (creating if needed) a bucket; with `ttlMs`, a value is dropped that long after it was written. */
  kv(bucket: string, opts?: KvBucketOptions): Promise<KvBucket>;
  /** Drops a whole KV bucket (used to rebuild a projection). */
  destroyKv(bucket: string): Promise<void>;
}

export interface KvBucketOptions {
  /** Age at which a value expires (JetStream: the bucket's max_age); unset: values are kept. */
  ttlMs?: number;
}

export interface KvEntry<T = unknown> {
  key: string;
  value: T;
  revision: number;
}

/** A change seen by a watcher; `value` is undefined when the key was deleted. */
export interface KvChange<T = unknown> {
  key: string;
  value: T | undefined;
  revision: number;
  op: 'put' | 'delete';
}

export interface KvBucket {
  readonly name: string;
  get<T = unknown>(key: string): Promise<KvEntry<T> | undefined>;
  put(key: string, value: unknown): Promise<number>;
  /** Creates a key that must not exist yet. @throws KvRevisionError when it exists. */
  create(key: string, value: unknown): Promise<number>;
  /** Compare-and-set. @throws KvRevisionError when the key's revision is not `revision`. */
  update(key: string, value: unknown, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Every key with a value, each once. */
  keys(): Promise<string[]>;
  /**
   * Every entry whose key starts with `prefix`, each key once, ordered by key: what lists read. Keys
   * written during the call may or may not be in it, but none is in it twice.
   */
  entries<T = unknown>(prefix?: string): Promise<KvEntry<T>[]>;
  /**
   * Current values first (when `initial`), then every change, until the signal aborts. With `after`, instead
   * of the current values: the last record of each key written after that revision (deletes included), in
   * revision order, then every change (a reader that saw revision `after` resumes without a gap).
   */
  watch<T = unknown>(opts: { signal: AbortSignal; initial?: boolean; after?: number }): AsyncIterable<KvChange<T>>;
  /** The bucket's latest revision (0: nothing written yet): where a watch `after` it starts with new changes only. */
  head(): Promise<number>;
}

// The key rules of NATS KV, checked the same way by both adapters (on JetStream a wildcard in a key would read another key).
const KV_KEY = /^[-/_=.a-zA-Z0-9]+$/;

/** @throws TetherError INVALID_COMMAND when `key` is no valid KV key. */
export function checkKvKey(key: string): void {
  if (!KV_KEY.test(key) || key.startsWith('.') || key.endsWith('.'))
    throw new TetherError(
      'INVALID_COMMAND',
      `invalid kv key "${key}": use letters, digits and - / _ = . (not first or last)`,
    );
}

export class KvRevisionError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly expected: number | 'absent',
  ) {
    super(`kv ${bucket}/${key}: revision is not ${expected}`);
    this.name = 'KvRevisionError';
  }
}
