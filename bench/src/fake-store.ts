import { subjectMatches, subjects, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import {
  WrongLastSequenceError,
  encodeJson,
  type AppendResult,
  type EventStore,
  type ReadOptions,
} from '@tether/runtime';

/**
 * A FAKE in-memory event store, only for the benchmark's cost breakdown: it lets the actor host
 * and the rebuild fold run without I/O, so their CPU cost per command / per event can be measured
 * apart from NATS. It keeps the adapter's contract where the breakdown touches it (OCC, msgID
 * duplicates, JSON encoding of each appended event); everything else is unsupported.
 */
export class FakeEventStore implements EventStore {
  readonly kind = 'embedded' as const;
  private readonly events: StoredEvent[] = [];
  private readonly lastBySubject = new Map<string, number>();
  private readonly byMsgId = new Map<string, number>();
  bytesWritten = 0;

  /** Preloads events as if they had been appended (the rebuild breakdown folds them). */
  load(events: StoredEvent[]): this {
    for (const e of events) {
      this.events.push(e);
      this.lastBySubject.set(e.subject, e.streamSeq);
    }
    return this;
  }

  async append(
    event: EventEnvelope,
    { expectedLastSeq, msgId }: { expectedLastSeq: number; msgId: string },
  ): Promise<AppendResult> {
    const dup = this.byMsgId.get(msgId);
    if (dup !== undefined) return { streamSeq: dup, duplicate: true };
    const subject = subjects.event(event.entity, event.entityId);
    if ((this.lastBySubject.get(subject) ?? 0) !== expectedLastSeq)
      throw new WrongLastSequenceError(subject, expectedLastSeq);
    this.bytesWritten += encodeJson(event).length; // the JetStream adapter serialises every event
    const streamSeq = (this.events.at(-1)?.streamSeq ?? 0) + 1;
    this.events.push({ streamSeq, subject, event });
    this.lastBySubject.set(subject, streamSeq);
    this.byMsgId.set(msgId, streamSeq);
    return { streamSeq, duplicate: false };
  }

  async lastSubjectSeq(entity: string, entityId: string) {
    return this.lastBySubject.get(subjects.event(entity, entityId)) ?? 0;
  }

  async getEvent(streamSeq: number) {
    return this.events.find((e) => e.streamSeq === streamSeq);
  }

  async readEntity(entity: string, entityId: string, afterStreamSeq = 0) {
    const subject = subjects.event(entity, entityId);
    return this.events.filter((e) => e.subject === subject && e.streamSeq > afterStreamSeq);
  }

  async *readAll(opts: ReadOptions = {}): AsyncIterable<StoredEvent> {
    const after = opts.afterStreamSeq ?? 0;
    for (const e of this.events) {
      if (e.streamSeq > after && (!opts.filter || subjectMatches(opts.filter, e.subject))) yield e;
    }
  }

  async lastStreamSeq() {
    return this.events.at(-1)?.streamSeq ?? 0;
  }

  readonly follow = unsupported('follow');
  readonly subscribe = unsupported('subscribe');
  readonly deleteSubscription = unsupported('deleteSubscription');
  readonly subscriptionLag = unsupported('subscriptionLag');
  readonly kv = unsupported('kv');
  readonly destroyKv = unsupported('destroyKv');
  async close() {}
}

/** A method the fake does not have: it throws when called. */
function unsupported(what: string): () => never {
  return () => {
    throw new Error(`FakeEventStore (benchmark breakdown only) does not support ${what}`);
  };
}
