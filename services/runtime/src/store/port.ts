import type { EventEnvelope, StoredEvent } from '@tether/contracts';

/** The event store contract; both adapters pass the same conformance suite. */
export interface EventStore {
  readonly kind: 'jetstream' | 'embedded';
  /**
   * Appends one event to tether.evt.<entity>.<entityId> if the subject's last stream sequence is
   * `expectedLastSeq` (0 = new entity). A resend of `msgId` inside the duplicate window returns the
   * original sequence with `duplicate: true` (checked before the sequence, as JetStream does).
   * @throws WrongLastSequenceError on a concurrency conflict; TetherError UNAVAILABLE when the store is down.
   */
  append(event: EventEnvelope, opts: { expectedLastSeq: number; msgId: string }): Promise<AppendResult>;
  /** Stream sequence of the entity's last event, 0 if it has none. */
  lastSubjectSeq(entity: string, entityId: string): Promise<number>;
  /** One event by stream sequence, or undefined. */
  getEvent(streamSeq: number): Promise<StoredEvent | undefined>;
  /** The entity's events after `afterStreamSeq`, oldest first. */
  readEntity(entity: string, entityId: string, afterStreamSeq?: number): Promise<StoredEvent[]>;
  /** Every event matching `filter` after `afterStreamSeq` up to the end of the stream at call time. */
  readAll(opts?: ReadOptions): AsyncIterable<StoredEvent>;
  /** Like readAll, but keeps delivering new events until the signal aborts. */
  follow(opts: ReadOptions & { signal: AbortSignal }): AsyncIterable<StoredEvent>;
  /** Stream sequence of the newest event, 0 when empty. */
  lastStreamSeq(): Promise<number>;
  /**
   * A durable subscription: each event is handed to `handler` and acknowledged when it resolves;
   * a throw, a crash or a missed ack deadline redelivers it. Survives restarts of both sides.
   */
  subscribe(
    name: string,
    opts: SubscribeOptions,
    handler: (event: StoredEvent) => Promise<void>,
  ): Promise<Subscription>;
  /** Removes a durable subscription and its position (used to rebuild a projection). */
  deleteSubscription(name: string): Promise<void>;
  /** Events not yet acknowledged by the named subscription (its lag). */
  subscriptionLag(name: string): Promise<number | undefined>;
  kv(bucket: string): Promise<KvBucket>;
  /** Drops a whole KV bucket (used to rebuild a projection). */
  destroyKv(bucket: string): Promise<void>;
  close(): Promise<void>;
}

export interface AppendResult {
  streamSeq: number;
  duplicate: boolean;
}

export interface ReadOptions {
  afterStreamSeq?: number;
  /** A NATS subject filter within tether.evt.>, e.g. tether.evt.lease.* (default: all). */
  filter?: string;
}

export interface SubscribeOptions {
  filter?: string;
  /** How long a delivered event may stay unacknowledged before it is redelivered. */
  ackWaitMs?: number;
  /** Events in flight to the handler at once; 1 keeps strict order. */
  maxInFlight?: number;
}

export interface Subscription {
  readonly name: string;
  stop(): Promise<void>;
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
  keys(): Promise<string[]>;
  /** Current values first (when `initial`), then every change, until the signal aborts. */
  watch<T = unknown>(opts: { signal: AbortSignal; initial?: boolean }): AsyncIterable<KvChange<T>>;
}

/** Optimistic concurrency failure: someone else appended to the subject first. */
export class WrongLastSequenceError extends Error {
  constructor(
    readonly subject: string,
    readonly expected: number,
  ) {
    super(`wrong last sequence on ${subject}: expected ${expected}`);
    this.name = 'WrongLastSequenceError';
  }
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

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const encodeJson = (v: unknown) => encoder.encode(JSON.stringify(v));
export const decodeJson = <T = unknown>(b: Uint8Array): T => JSON.parse(decoder.decode(b)) as T;
