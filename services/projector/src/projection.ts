import type { StoredEvent } from '@tether/contracts';
import {
  KvRevisionError,
  LruMap,
  silentLogger,
  type DurableSubscriptions,
  type EventLog,
  type KeyValueStore,
  type KvBucket,
  type KvEntry,
  type Logger,
  type ProjectedDoc,
  type Subscription,
} from '@tether/runtime';

/** A read model: which events it reads, which key each touches, and a pure fold. */
export interface Projection<T> {
  name: string;
  bucket: string;
  filter: string;
  keyOf(e: StoredEvent): string | undefined;
  /** Next document for the key, or undefined to delete it. Pure: no clock, no I/O. */
  apply(current: T | undefined, e: StoredEvent): T | undefined;
}

/** The event is ahead of the document: redeliver it after its predecessor has been applied. */
export class OutOfOrderError extends Error {
  constructor(
    readonly key: string,
    readonly have: number,
    readonly got: number,
  ) {
    super(`${key}: read model at version ${have}, event is version ${got}; waiting for the gap to fill`);
    this.name = 'OutOfOrderError';
  }
}

export const consumerName = (projection: string) => `proj_${projection}`;

/** What a projection runner uses of the store: its subscription, its bucket, and the log's length for its lag. */
export type ProjectionStore = DurableSubscriptions & KeyValueStore & Pick<EventLog, 'lastStreamSeq'>;

/**
 * Feeds a projection from a durable subscription into its KV bucket. Every document carries the
 * stream seq it reflects, so a redelivered or replayed event changes nothing.
 */
export class ProjectionRunner<T> {
  private sub?: Subscription;
  private bucket?: KvBucket;
  /** Documents as last written by this runner; compare-and-set catches a stale one. */
  private readonly docs = new LruMap<string, KvEntry<ProjectedDoc<T>>>(20_000);
  private readonly log: Logger;

  constructor(
    private readonly store: ProjectionStore,
    readonly projection: Projection<T>,
    private readonly opts: { logger?: Logger; ackWaitMs?: number } = {},
  ) {
    this.log = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    this.bucket = await this.store.kv(this.projection.bucket);
    this.sub = await this.store.subscribe(
      consumerName(this.projection.name),
      { filter: this.projection.filter, ackWaitMs: this.opts.ackWaitMs ?? 30_000 },
      (e) => this.handleWithRetry(e),
    );
  }

  /**
   * Transient failures are retried in place, so a later event of the same key can never overtake
   * this one; only an out-of-order event goes back to the stream for redelivery.
   */
  private async handleWithRetry(e: StoredEvent): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.handle(e);
      } catch (err) {
        if (!this.sub) throw err;
        // Another runner usually fills the gap within milliseconds; past a short wait, hand the
        // event back (waiting longer could deadlock two runners that each hold the other's next event).
        if (err instanceof OutOfOrderError) {
          if (attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Applies one event; idempotent, and safe against a second runner thanks to compare-and-set. */
  async handle(e: StoredEvent): Promise<void> {
    const key = this.projection.keyOf(e);
    if (!key) return;
    const bucket = this.bucket ?? (await this.store.kv(this.projection.bucket));
    for (;;) {
      const cached = this.docs.get(key);
      const cur = cached ?? (await bucket.get<ProjectedDoc<T>>(key));
      if (cur && cur.value.lastSeq >= e.streamSeq) {
        // Applied already, unless the cache outlived the bucket (rebuilt by another process): ask the bucket.
        if (!cached) return;
        this.docs.delete(key);
        continue;
      }
      try {
        const next = this.projection.apply(cur?.value.value, e);
        if (next === undefined) {
          this.docs.delete(key);
          if (cur) await bucket.delete(key);
          return;
        }
        const doc: ProjectedDoc<T> = { lastSeq: e.streamSeq, value: next };
        const revision = cur ? await bucket.update(key, doc, cur.revision) : await bucket.create(key, doc);
        this.docs.set(key, { key, value: doc, revision });
        return;
      } catch (err) {
        this.docs.delete(key); // someone else wrote it (or it is gone): read it again
        if (err instanceof OutOfOrderError) {
          this.log.debug({ key, have: err.have, got: err.got }, 'event ahead of read model; redelivering');
          throw err;
        }
        if (!(err instanceof KvRevisionError)) {
          this.log.error(
            { err: String(err), correlationId: e.event.correlationId, projection: this.projection.name },
            'projection write failed; will be redelivered',
          );
          throw err;
        }
      }
    }
  }

  /** Events the projection has not applied yet. */
  async lag(): Promise<number> {
    return (await this.store.subscriptionLag(consumerName(this.projection.name))) ?? (await this.store.lastStreamSeq());
  }

  /** Waits until the projection has caught up with the stream (or the timeout passes). */
  async waitCaughtUp(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((await this.lag()) > 0) {
      if (Date.now() > until) throw new Error(`projection ${this.projection.name} still lags after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Drops the read model and its position, then replays the whole stream into it. */
  async rebuild(timeoutMs?: number): Promise<void> {
    await this.stop();
    this.docs.clear();
    await this.store.deleteSubscription(consumerName(this.projection.name));
    await this.store.destroyKv(this.projection.bucket);
    await this.start();
    await this.waitCaughtUp(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
    this.sub = undefined;
  }
}

/** Every document of a read model, keyed, without revisions: what "identical after rebuild" compares. */
export async function readModelContents(store: KeyValueStore, bucket: string): Promise<Record<string, unknown>> {
  const kv = await store.kv(bucket);
  const out: Record<string, unknown> = {};
  for (const e of await kv.entries()) out[e.key] = e.value;
  return out;
}
