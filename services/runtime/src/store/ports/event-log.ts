import type { EventEnvelope, StoredEvent } from '@tether/contracts';

/** The append-only log of events, one subject per entity: what the actor host and readers need. */
export interface EventLog {
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
