import {
  decodeEnvelope,
  STREAM_EVENTS,
  subjects,
  TetherError,
  type EventEnvelope,
  type StoredEvent,
} from '@tether/contracts';
import { DeliverPolicy, jetstream, type Consumer, type JetStreamClient, type StoredMsg } from '@nats-io/jetstream';
import { decodeJson, encodeJson } from '../port.ts';
import { WrongLastSequenceError, type AppendResult, type EventLog, type ReadOptions } from '../ports/event-log.ts';
import type { JetStreamConnection } from './connection.ts';
import { isWrongLastSequence, toStoreError } from './errors.ts';
import { getStreamMessage, type StreamMessageQuery } from './streams.ts';

/** Events a read fetches one by one before it turns to a consumer (see readRange). */
const GETS_FIRST = 64;
/** How long creating a read consumer may take before it is given up and another one tried. */
const CONSUMER_CREATE_MS = 1_000;
/** Read consumers tried before a read goes on with gets (a live one is found 26 times in 27 with one node of three down). */
const CONSUMER_TRIES = 3;

/** The event log on the TETHER_EVENTS stream: OCC through expected last subject sequence, dedup through msgID. */
export class JetStreamEventLog implements EventLog {
  /** Creates the reads' ordered consumers, with a timeout short enough to try another one soon. */
  private readonly readJs: JetStreamClient;

  constructor(private readonly conn: JetStreamConnection) {
    this.readJs = jetstream(conn.nc, { timeout: CONSUMER_CREATE_MS });
  }

  async append(
    event: EventEnvelope,
    { expectedLastSeq, msgId }: { expectedLastSeq: number; msgId: string },
  ): Promise<AppendResult> {
    const subject = subjects.event(event.entity, event.entityId);
    this.conn.ensureConnected('append');
    try {
      const publish = this.conn.js.publish(subject, encodeJson(event), {
        msgID: msgId,
        expect: { lastSubjectSequence: expectedLastSeq },
      });
      const ack = await this.conn.untilDisconnect(publish);
      return { streamSeq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (isWrongLastSequence(err)) throw new WrongLastSequenceError(subject, expectedLastSeq);
      throw toStoreError(err, 'append');
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
    const consumer = await this.readConsumer(opts);
    if (!consumer)
      throw new TetherError(
        'UNAVAILABLE',
        `event store unavailable (follow): no read consumer could be created in ${CONSUMER_TRIES} tries; retry shortly`,
      );
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

  async lastStreamSeq(): Promise<number> {
    const info = await this.conn.guarded('stream info', () => this.conn.jsm.streams.info(STREAM_EVENTS));
    return info.state.last_seq;
  }

  /**
   * The events matching `opts.filter` after `opts.afterStreamSeq` up to stream sequence `end`, the exact
   * last match (a message's `info.pending` is no stop signal: nats-server 2.9 can report 0 early on
   * filtered ordered consumers).
   *
   * A read starts with gets through the stream leader (`next_by_subj`), one event each, and most reads
   * (an entity's history, a page) end there: no consumer, so nothing depends on where one is placed.
   * Measured on nats-server 2.9.10 with one node of three killed: these gets and stream info never failed
   * (when the stream leader was the one killed, after the election, about 6 s), while a third of the
   * ephemeral consumers (ordered consumers, kv.keys()) were placed on the dead node and timed out, for as
   * long as it stayed down. Batch direct gets, which would read a range without a consumer, need 2.11.
   * Past GETS_FIRST events a read turns to an ordered consumer, for throughput (a rebuild reads 100k
   * events), created with retries; if none can be created, the gets go on.
   */
  private async *readRange(opts: ReadOptions, end: number): AsyncIterable<StoredEvent> {
    const filter = opts.filter ?? subjects.allEvents;
    let cursor = opts.afterStreamSeq ?? 0;
    for (let n = 0; cursor < end; n++) {
      if (n === GETS_FIRST) {
        const consumer = await this.readConsumer({ filter, afterStreamSeq: cursor });
        if (consumer) return yield* consumeUntil(consumer, end);
      }
      const m = await this.getMsg({ seq: cursor + 1, next_by_subj: filter });
      if (!m || m.seq > end) return;
      cursor = m.seq;
      yield toStored(m.seq, m.subject, m.data);
    }
  }

  /**
   * An ordered consumer from afterStreamSeq+1, or undefined when CONSUMER_TRIES creations timed out:
   * nats-server 2.9 places each one on a replica at random, a dead one included, and a new one is a new draw.
   */
  private async readConsumer(opts: ReadOptions): Promise<Consumer | undefined> {
    for (let i = 0; i < CONSUMER_TRIES; i++) {
      try {
        return await this.conn.guarded('read', () => this.readJs.consumers.get(STREAM_EVENTS, orderedFrom(opts)));
      } catch (err) {
        if (!(err instanceof TetherError && err.code === 'UNAVAILABLE')) throw err;
      }
    }
    return undefined;
  }

  private getMsg(query: StreamMessageQuery): Promise<StoredMsg | undefined> {
    return this.conn.guarded('read', () => getStreamMessage(this.conn.jsm, STREAM_EVENTS, query));
  }
}

/** A consumer's messages up to stream sequence `end`; the consumer is closed after. */
async function* consumeUntil(consumer: Consumer, end: number): AsyncIterable<StoredEvent> {
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

function orderedFrom(opts: ReadOptions) {
  const after = opts.afterStreamSeq ?? 0;
  return {
    filter_subjects: opts.filter ?? subjects.allEvents,
    ...(after > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
      : { deliver_policy: DeliverPolicy.All }),
  };
}

/** A message of TETHER_EVENTS as a stored event (the envelope parsed). */
export function toStored(streamSeq: number, subject: string, data: Uint8Array): StoredEvent {
  return { streamSeq, subject, event: decodeEnvelope(decodeJson(data)) };
}
