import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DUPLICATE_WINDOW_MS } from '@tether/infra';
import { silentLogger, type Logger } from '../../logger.ts';
import { ComposedEventStore } from '../composed-store.ts';
import { StoreContext } from './common.ts';
import { EmbeddedEventLog } from './event-log.ts';
import { JsonLinesFile } from './json-lines.ts';
import { EmbeddedKeyValue } from './key-value.ts';
import { EmbeddedKv } from './kv-bucket.ts';
import { acquireLock } from './lock.ts';
import { StreamFile, type EventLine } from './stream-file.ts';
import { EmbeddedSubscriptions } from './subscriptions.ts';

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
export class EmbeddedEventStore extends ComposedEventStore {
  readonly kind = 'embedded' as const;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly ctx: StoreContext,
    private readonly closing: AbortController,
    private readonly parts: { log: EmbeddedEventLog; subscriptions: EmbeddedSubscriptions; keyValue: EmbeddedKeyValue },
    private readonly releaseLock: (() => void) | undefined,
  ) {
    super(parts);
  }

  get dir(): string {
    return this.ctx.dir;
  }

  static async open(dir: string, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedEventStore> {
    const readOnly = opts.readOnly ?? false;
    const logger = opts.logger ?? silentLogger;
    if (!readOnly) mkdirSync(dir, { recursive: true });
    const releaseLock = readOnly ? undefined : acquireLock(dir);
    const closing = new AbortController();
    const ctx = new StoreContext(dir, readOnly, logger, closing.signal);
    let stream: StreamFile | undefined;
    try {
      stream = new StreamFile(
        new JsonLinesFile<EventLine>(join(dir, 'events.jsonl'), !readOnly, logger),
        opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS,
      );
      const positions = EmbeddedKv.open(ctx, 'subscriptions', join(dir, 'subscriptions.jsonl'));
      logger.info(
        { dir, events: stream.lastSeq, readOnly },
        'using the embedded event store (in-process, one machine); set NATS_URL to use NATS JetStream',
      );
      const log = new EmbeddedEventLog(ctx, stream);
      const parts = {
        log,
        subscriptions: new EmbeddedSubscriptions(ctx, log, positions),
        keyValue: new EmbeddedKeyValue(ctx),
      };
      return new EmbeddedEventStore(ctx, closing, parts, releaseLock);
    } catch (err) {
      stream?.close();
      releaseLock?.();
      throw err;
    }
  }

  /** Stops subscriptions (waiting for their handlers), ends followers and watchers, releases the lock. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      // Handlers still running may write (a projection's KV put), so files close only after them.
      await this.parts.subscriptions.stopAll();
      this.ctx.closed = true;
      this.parts.keyValue.close();
      this.parts.subscriptions.close();
      this.parts.log.close();
      this.releaseLock?.();
    })();
    return this.closed;
  }
}
