import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TetherError, subjects, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import { DEFAULT_DUPLICATE_WINDOW_MS } from '@tether/infra';
import { silentLogger, type Logger } from '../logger.ts';
import { POLL_MS, closedError, readOnlyError, sleep, type StoreContext } from './embedded/common.ts';
import { EventLog, type EventLine } from './embedded/event-log.ts';
import { JsonLinesFile } from './embedded/json-lines.ts';
import { EmbeddedKv, checkBucketName } from './embedded/kv.ts';
import { acquireLock } from './embedded/lock.ts';
import { DurableConsumer, type Position } from './embedded/subscription.ts';
import type { AppendResult, EventStore, KvBucket, ReadOptions, SubscribeOptions, Subscription } from './port.ts';

export interface EmbeddedStoreOptions {
  /** Window in which a resent msgId is answered with the original sequence (default 2 minutes). */
  duplicateWindowMs?: number;
  /** For readers in other processes (CLI tail, replay): no lock, writes refused, the files polled for news. */
  readOnly?: boolean;
  logger?: Logger;
}

/**
 * The in-process adapter, for a first run without NATS: events in dir/events.jsonl, subscription
 * positions in dir/subscriptions.jsonl, KV buckets in dir/kv/<bucket>.jsonl. One writer process per
 * dir (dir/LOCK); any number of read-only readers.
 */
export class EmbeddedEventStore implements EventStore {
  readonly kind = 'embedded' as const;
  private closed: Promise<void> | undefined;
  private isClosed = false;
  private readonly subs = new Map<string, DurableConsumer>();
  private readonly buckets = new Map<string, EmbeddedKv>();

  private constructor(
    private readonly ctx: StoreContext,
    private readonly closing: AbortController,
    private readonly log: EventLog,
    private readonly positions: EmbeddedKv,
    private readonly releaseLock: (() => void) | undefined,
  ) {}

  get dir(): string {
    return this.ctx.dir;
  }

  static async open(dir: string, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedEventStore> {
    const readOnly = opts.readOnly ?? false;
    const logger = opts.logger ?? silentLogger;
    if (!readOnly) mkdirSync(dir, { recursive: true });
    const releaseLock = readOnly ? undefined : acquireLock(dir);
    const closing = new AbortController();
    const ctx: StoreContext = { dir, readOnly, logger, closing: closing.signal };
    let log: EventLog | undefined;
    try {
      log = new EventLog(
        new JsonLinesFile<EventLine>(join(dir, 'events.jsonl'), !readOnly, logger),
        opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS,
      );
      const positions = EmbeddedKv.open(ctx, 'subscriptions', join(dir, 'subscriptions.jsonl'));
      logger.info(
        { dir, events: log.lastSeq, readOnly },
        'using the embedded event store (in-process, one machine); set NATS_URL to use NATS JetStream',
      );
      return new EmbeddedEventStore(ctx, closing, log, positions, releaseLock);
    } catch (err) {
      log?.close();
      releaseLock?.();
      throw err;
    }
  }

  async append(
    event: EventEnvelope,
    { expectedLastSeq, msgId }: { expectedLastSeq: number; msgId: string },
  ): Promise<AppendResult> {
    this.assertWritable();
    return this.log.append(event, msgId, expectedLastSeq);
  }

  async lastSubjectSeq(entity: string, entityId: string): Promise<number> {
    return this.reader().lastSubjectSeq(subjects.event(entity, entityId));
  }

  async getEvent(streamSeq: number): Promise<StoredEvent | undefined> {
    return this.reader().get(streamSeq);
  }

  async readEntity(entity: string, entityId: string, afterStreamSeq = 0): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for await (const e of this.readAll({ filter: subjects.event(entity, entityId), afterStreamSeq })) out.push(e);
    return out;
  }

  async *readAll(opts: ReadOptions = {}): AsyncIterable<StoredEvent> {
    const log = this.reader();
    const filter = opts.filter ?? subjects.allEvents;
    const end = log.lastSeq;
    for (
      let seq = log.nextMatching(opts.afterStreamSeq ?? 0, filter);
      seq !== undefined && seq <= end;
      seq = log.nextMatching(seq, filter)
    ) {
      yield log.get(seq)!;
    }
  }

  async *follow(opts: ReadOptions & { signal: AbortSignal }): AsyncIterable<StoredEvent> {
    const log = this.reader();
    const signal = AbortSignal.any([opts.signal, this.closing.signal]);
    const filter = opts.filter ?? subjects.allEvents;
    let cursor = opts.afterStreamSeq ?? 0;
    while (!signal.aborted) {
      const seq = log.nextMatching(cursor, filter);
      if (seq === undefined) {
        cursor = log.lastSeq; // everything up to here was looked at
        await this.waitForEvents(signal);
        continue;
      }
      cursor = seq;
      yield log.get(seq)!;
    }
  }

  async lastStreamSeq(): Promise<number> {
    return this.reader().lastSeq;
  }

  async subscribe(
    name: string,
    opts: SubscribeOptions,
    handler: (event: StoredEvent) => Promise<void>,
  ): Promise<Subscription> {
    this.assertWritable();
    if (this.subs.has(name))
      throw new TetherError('CONFLICT', `subscription ${name} is already active in this process; stop it first`);
    const filter = opts.filter ?? subjects.allEvents;
    const saved = this.savedPosition(name);
    const position: Position = { floor: saved?.floor ?? 0, filter };
    if (saved?.filter !== filter) this.positions.write(name, 'put', position);
    const deps = {
      log: this.log,
      positions: this.positions,
      logger: this.ctx.logger,
      waitForEvents: (s: AbortSignal) => this.waitForEvents(s),
    };
    const consumer = new DurableConsumer(
      name,
      position,
      opts.ackWaitMs ?? 30_000,
      opts.maxInFlight ?? 1,
      handler,
      deps,
    );
    this.subs.set(name, consumer);
    return {
      name,
      stop: async () => {
        await consumer.stop();
        if (this.subs.get(name) === consumer) this.subs.delete(name);
      },
    };
  }

  async deleteSubscription(name: string): Promise<void> {
    this.assertWritable();
    const active = this.subs.get(name);
    this.subs.delete(name);
    await active?.stop();
    if (this.savedPosition(name)) this.positions.write(name, 'del');
  }

  async subscriptionLag(name: string): Promise<number | undefined> {
    const log = this.reader();
    const p = this.savedPosition(name);
    return p && log.countAfter(p.floor, p.filter);
  }

  async kv(bucket: string): Promise<KvBucket> {
    this.assertOpen();
    checkBucketName(bucket);
    let b = this.buckets.get(bucket);
    if (!b) {
      b = EmbeddedKv.open(this.ctx, bucket, this.kvPath(bucket));
      this.buckets.set(bucket, b);
    }
    return b;
  }

  async destroyKv(bucket: string): Promise<void> {
    this.assertWritable();
    checkBucketName(bucket);
    this.buckets.get(bucket)?.destroy();
    this.buckets.delete(bucket);
    rmSync(this.kvPath(bucket), { force: true });
  }

  /** Stops subscriptions (waiting for their handlers), ends followers and watchers, releases the lock. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      // Handlers still running may write (a projection's KV put), so files close only after them.
      await Promise.all([...this.subs.values()].map((s) => s.stop()));
      this.subs.clear();
      this.isClosed = true;
      for (const b of this.buckets.values()) b.close();
      this.positions.close();
      this.log.close();
      this.releaseLock?.();
    })();
    return this.closed;
  }

  private kvPath(bucket: string): string {
    return join(this.dir, 'kv', `${bucket}.jsonl`);
  }

  private savedPosition(name: string): Position | undefined {
    const r = this.positions.current(name);
    return r?.op === 'put' ? (r.value as Position) : undefined;
  }

  /** The log, brought up to date with the file first when another process writes it. */
  private reader(): EventLog {
    this.assertOpen();
    if (this.ctx.readOnly) this.log.refresh();
    return this.log;
  }

  /** Until something is appended: at once in the writer, by polling the file in a reader. */
  private async waitForEvents(signal: AbortSignal): Promise<void> {
    if (!this.ctx.readOnly) return this.log.appended.wait(signal);
    await sleep(POLL_MS, signal);
    if (!signal.aborted) this.log.refresh();
  }

  private assertOpen(): void {
    if (this.isClosed) throw closedError(this.dir);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.ctx.readOnly) throw readOnlyError(this.dir);
  }
}
