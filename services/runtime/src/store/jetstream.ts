import {
  TetherError,
  decodeEnvelope,
  STREAM_EVENTS,
  subjects,
  type EventEnvelope,
  type StoredEvent,
} from '@tether/contracts';
import { durableConsumerConfig, eventsStreamConfig, kvBucketConfig, type EventsStreamOptions } from '@tether/infra';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  KvRevisionError,
  WrongLastSequenceError,
  decodeJson,
  encodeJson,
  type AppendResult,
  type EventStore,
  type KvBucket,
  type KvChange,
  type ReadOptions,
  type SubscribeOptions,
  type Subscription,
} from './port.ts';

export interface JetStreamStoreOptions extends EventsStreamOptions {
  /** Milliseconds to wait for the server's answer before calling it unavailable. */
  timeoutMs?: number;
  name?: string;
}

/** Connects to NATS and declares the stream; reconnects forever, so a restarted server is picked up. */
export async function connectNats(url: string, name = 'tether'): Promise<NatsConnection> {
  try {
    // noAsyncTraces: no stack captured per request, a measurable share of each command's CPU.
    return await connect({
      servers: url.split(','),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      noAsyncTraces: true,
    });
  } catch (err) {
    throw new TetherError(
      'UNAVAILABLE',
      `cannot reach NATS at ${url}: ${(err as Error).message}; start nats-server with -js or set NATS_URL`,
      { cause: err },
    );
  }
}

export class JetStreamEventStore implements EventStore {
  readonly kind = 'jetstream' as const;
  private readonly kvm: Kvm;
  private readonly buckets = new Map<string, Promise<KvBucket>>();
  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: JetStreamStoreOptions,
    private readonly ownsConnection: boolean,
  ) {
    this.kvm = new Kvm(nc);
    void this.trackConnection();
  }

  /** False between a disconnect and the reconnect: calls then fail fast instead of waiting out a timeout. */
  private connected = true;

  /** Appends awaiting their ack; a disconnect fails them at once (the caller resends with the same id). */
  private readonly inflight = new Set<(err: Error) => void>();

  private async trackConnection() {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') {
        this.connected = false;
        const err = new TetherError(
          'UNAVAILABLE',
          'the NATS connection dropped while appending; the outcome is unknown: resend with the same command id',
        );
        for (const fail of this.inflight) fail(err);
        this.inflight.clear();
      } else if (s.type === 'reconnect') this.connected = true;
    }
  }

  /** Runs one request against the server: fails fast while disconnected, maps failures to typed errors. */
  private guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      this.ensureConnected(what);
    } catch (err) {
      return Promise.reject(err);
    }
    return unavailableOnFailure(fn, what);
  }

  private ensureConnected(what: string) {
    if (this.nc.isClosed()) throw new TetherError('UNAVAILABLE', `event store closed (${what})`);
    if (!this.connected)
      throw new TetherError(
        'UNAVAILABLE',
        `event store unavailable (${what}): the NATS connection is down and reconnecting; retry shortly`,
      );
  }

  static async open(nc: NatsConnection | string, opts: JetStreamStoreOptions = {}): Promise<JetStreamEventStore> {
    const owns = typeof nc === 'string';
    const conn = typeof nc === 'string' ? await connectNats(nc, opts.name) : nc;
    const timeout = opts.timeoutMs ?? 5_000;
    const jsm = await unavailableOnFailure(() => jetstreamManager(conn, { timeout }));
    const desired = eventsStreamConfig(opts);
    await unavailableOnFailure(async () => {
      try {
        await jsm.streams.add(desired);
      } catch (err) {
        // Exists already (possibly with other limits): bring it to the declared config.
        if (err instanceof JetStreamApiError && err.code === 10058) await jsm.streams.update(desired.name, desired);
        else throw err;
      }
    });
    return new JetStreamEventStore(conn, jetstream(conn, { timeout }), jsm, opts, owns);
  }

  async append(
    event: EventEnvelope,
    { expectedLastSeq, msgId }: { expectedLastSeq: number; msgId: string },
  ): Promise<AppendResult> {
    const subject = subjects.event(event.entity, event.entityId);
    this.ensureConnected('append');
    try {
      const publish = this.js.publish(subject, encodeJson(event), {
        msgID: msgId,
        expect: { lastSubjectSequence: expectedLastSeq },
      });
      let fail!: (err: Error) => void;
      const dropped = new Promise<never>((_, reject) => (fail = reject));
      this.inflight.add(fail);
      publish.catch(() => undefined); // if the disconnect wins, nobody awaits this one any more
      try {
        const ack = await Promise.race([publish, dropped]);
        return { streamSeq: ack.seq, duplicate: ack.duplicate };
      } finally {
        this.inflight.delete(fail);
      }
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
        throw new WrongLastSequenceError(subject, expectedLastSeq);
      }
      throw toUnavailable(err, 'append');
    }
  }

  async lastSubjectSeq(entity: string, entityId: string): Promise<number> {
    const m = await this.getMsg({ last_by_subj: subjects.event(entity, entityId) });
    return m?.seq ?? 0;
  }

  async getEvent(streamSeq: number): Promise<StoredEvent | undefined> {
    const m = await this.getMsg({ seq: streamSeq });
    return m ? toStored(m.seq, m.subject, m.data) : undefined;
  }

  async readEntity(entity: string, entityId: string, afterStreamSeq = 0): Promise<StoredEvent[]> {
    const subject = subjects.event(entity, entityId);
    const last = await this.lastSubjectSeq(entity, entityId);
    if (last <= afterStreamSeq) return [];
    const out: StoredEvent[] = [];
    for await (const e of this.readRange({ filter: subject, afterStreamSeq }, last)) out.push(e);
    return out;
  }

  async *readAll(opts: ReadOptions = {}): AsyncIterable<StoredEvent> {
    // The exact last match of the filter (wildcards work in last_by_subj): where the read stops.
    const end = (await this.getMsg({ last_by_subj: opts.filter ?? subjects.allEvents }))?.seq ?? 0;
    if (end <= (opts.afterStreamSeq ?? 0)) return;
    yield* this.readRange(opts, end);
  }

  async *follow(opts: ReadOptions & { signal: AbortSignal }): AsyncIterable<StoredEvent> {
    const consumer = await this.guarded('read', () => this.js.consumers.get(STREAM_EVENTS, orderedFrom(opts)));
    const messages = await consumer.consume({ max_messages: 512 });
    const onAbort = () => void messages.stop();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    if (opts.signal.aborted) onAbort(); // aborted while the consumer was being created
    try {
      for await (const m of messages) yield toStored(m.seq, m.subject, m.data);
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
      await messages.close().catch(() => undefined);
    }
  }

  /**
   * Ordered-consumer read from afterStreamSeq+1 that stops at stream sequence `end`, the exact last
   * match. (A message's `info.pending` is no stop signal: nats-server 2.9 can report 0 early on
   * filtered ordered consumers.)
   */
  private async *readRange(opts: ReadOptions, end: number): AsyncIterable<StoredEvent> {
    const consumer = await this.guarded('read', () => this.js.consumers.get(STREAM_EVENTS, orderedFrom(opts)));
    const messages = await consumer.consume({ max_messages: 1024 });
    try {
      for await (const m of messages) {
        yield toStored(m.seq, m.subject, m.data);
        if (m.seq >= end) break;
      }
    } finally {
      await messages.close().catch(() => undefined);
    }
  }

  async lastStreamSeq(): Promise<number> {
    const info = await this.guarded('stream info', () => this.jsm.streams.info(STREAM_EVENTS));
    return info.state.last_seq;
  }

  async subscribe(
    name: string,
    opts: SubscribeOptions,
    handler: (e: StoredEvent) => Promise<void>,
  ): Promise<Subscription> {
    const maxInFlight = Math.max(opts.maxInFlight ?? 1, 1);
    const cfg = durableConsumerConfig(
      name,
      opts.filter ?? subjects.allEvents,
      opts.ackWaitMs ?? 30_000,
      maxInFlight * 4,
    );
    const ensureConsumer = () =>
      this.guarded('subscribe', async () => {
        try {
          await this.jsm.consumers.add(STREAM_EVENTS, {
            ...cfg,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
          });
        } catch (err) {
          if (!(err instanceof JetStreamApiError)) throw err;
          await this.jsm.consumers.update(STREAM_EVENTS, name, {
            ack_wait: cfg.ack_wait,
            max_ack_pending: cfg.max_ack_pending,
          });
        }
      });
    await ensureConsumer();
    const handle = async (m: JsMsg) => {
      try {
        await handler(toStored(m.seq, m.subject, m.data));
        m.ack();
      } catch {
        if (!this.nc.isClosed()) m.nak(500);
      }
    };
    let stopped = false;
    let current: { stop(): void } | undefined;
    // Supervised: if the consumer vanishes (a rebuild elsewhere) or the iterator fails, start again.
    const done = (async () => {
      while (!stopped && !this.nc.isClosed()) {
        try {
          const consumer = await this.js.consumers.get(STREAM_EVENTS, name);
          const messages = await consumer.consume({
            max_messages: cfg.max_ack_pending,
            abort_on_missing_resource: true,
          });
          current = messages;
          if (stopped) messages.stop();
          const inflight = new Set<Promise<void>>();
          for await (const m of messages) {
            const p = handle(m).finally(() => inflight.delete(p));
            inflight.add(p);
            if (inflight.size >= maxInFlight) await Promise.race(inflight);
          }
          await Promise.all(inflight);
        } catch {
          if (stopped || this.nc.isClosed()) break;
          await new Promise((r) => setTimeout(r, 1_000));
          await ensureConsumer().catch(() => undefined);
        }
      }
    })();
    return {
      name,
      stop: async () => {
        stopped = true;
        current?.stop();
        await done;
      },
    };
  }

  async deleteSubscription(name: string): Promise<void> {
    try {
      await this.jsm.consumers.delete(STREAM_EVENTS, name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound))
        throw toUnavailable(err, 'delete subscription');
    }
  }

  async subscriptionLag(name: string): Promise<number | undefined> {
    try {
      const ci = await this.jsm.consumers.info(STREAM_EVENTS, name);
      return ci.num_pending + ci.num_ack_pending;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
      throw toUnavailable(err, 'subscription info');
    }
  }

  kv(bucket: string): Promise<KvBucket> {
    let b = this.buckets.get(bucket);
    if (!b) {
      b = this.guarded(
        'kv open',
        async () =>
          new JetStreamKv(bucket, await this.kvm.create(bucket, kvBucketConfig(this.opts)), (what, fn) =>
            this.guarded(what, fn),
          ),
      );
      b.catch(() => this.buckets.delete(bucket));
      this.buckets.set(bucket, b);
    }
    return b;
  }

  async destroyKv(bucket: string): Promise<void> {
    this.buckets.delete(bucket);
    try {
      await this.jsm.streams.delete(`KV_${bucket}`);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound))
        throw toUnavailable(err, 'destroy kv');
    }
  }

  async close(): Promise<void> {
    if (this.ownsConnection && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  private async getMsg(query: { seq: number } | { last_by_subj: string }): Promise<StoredMsg | undefined> {
    this.ensureConnected('read');
    try {
      // Through the stream leader, not a direct get: in a cluster a direct get may be answered by a
      // replica that lags, and these reads decide where an entity's history ends.
      return (await this.jsm.streams.getMessage(STREAM_EVENTS, query)) ?? undefined;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return undefined;
      throw toUnavailable(err, 'read');
    }
  }
}

class JetStreamKv implements KvBucket {
  constructor(
    readonly name: string,
    private readonly kv: KV,
    private readonly guarded: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
  ) {}

  async get<T>(key: string) {
    const e = await this.guarded('kv get', () => this.kv.get(key));
    if (e?.operation !== 'PUT') return undefined;
    return { key, value: decodeJson<T>(e.value), revision: e.revision };
  }
  put(key: string, value: unknown) {
    return this.guarded('kv put', () => this.kv.put(key, encodeJson(value)));
  }
  async create(key: string, value: unknown) {
    return this.guarded('kv create', async () => {
      try {
        return await this.kv.create(key, encodeJson(value));
      } catch (err) {
        throw isWrongLastSeq(err) ? new KvRevisionError(this.name, key, 'absent') : err;
      }
    });
  }
  async update(key: string, value: unknown, revision: number) {
    return this.guarded('kv update', async () => {
      try {
        return await this.kv.update(key, encodeJson(value), revision);
      } catch (err) {
        throw isWrongLastSeq(err) ? new KvRevisionError(this.name, key, revision) : err;
      }
    });
  }
  async delete(key: string) {
    await this.guarded('kv delete', () => this.kv.delete(key));
  }
  async keys() {
    const out: string[] = [];
    for await (const k of await this.guarded('kv keys', () => this.kv.keys())) out.push(k);
    return out;
  }
  async *watch<T>(opts: { signal: AbortSignal; initial?: boolean }): AsyncIterable<KvChange<T>> {
    const it = await this.guarded('kv watch', () =>
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

function orderedFrom(opts: ReadOptions) {
  const after = opts.afterStreamSeq ?? 0;
  return {
    filter_subjects: opts.filter ?? subjects.allEvents,
    ...(after > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
      : { deliver_policy: DeliverPolicy.All }),
  };
}

function toStored(streamSeq: number, subject: string, data: Uint8Array): StoredEvent {
  return { streamSeq, subject, event: decodeEnvelope(decodeJson(data)) };
}

function isWrongLastSeq(err: unknown) {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
}

/** Timeouts, closed connections and "no responders" all mean the store cannot be reached now. */
function toUnavailable(err: unknown, what: string): Error {
  if (err instanceof TetherError || err instanceof WrongLastSequenceError || err instanceof KvRevisionError) return err;
  if (err instanceof JetStreamApiError)
    return new TetherError('INTERNAL', `JetStream ${what} failed: ${err.message} (code ${err.code})`, { cause: err });
  return new TetherError(
    'UNAVAILABLE',
    `event store unavailable (${what}): ${(err as Error)?.message ?? String(err)}; retry shortly`,
    { cause: err },
  );
}

async function unavailableOnFailure<T>(fn: () => Promise<T>, what = 'request'): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toUnavailable(err, what);
  }
}
