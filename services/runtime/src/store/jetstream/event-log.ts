import { decodeEnvelope, STREAM_EVENTS, subjects, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import type { StoredMsg } from '@nats-io/jetstream';
import { decodeJson, encodeJson } from '../port.ts';
import { WrongLastSequenceError, type AppendResult, type EventLog, type ReadOptions } from '../ports/event-log.ts';
import type { JetStreamConnection } from './connection.ts';
import { isWrongLastSequence, toStoreError } from './errors.ts';
import { StreamRangeReader } from './stream-range.ts';
import { getStreamMessage, type StreamMessageQuery } from './streams.ts';

/** The event log on the TETHER_EVENTS stream: OCC through expected last subject sequence, dedup through msgID. */
export class JetStreamEventLog implements EventLog {
  /** Reads and follows: gets first, consumers only for long reads (see StreamRangeReader). */
  private readonly range: StreamRangeReader;

  constructor(private readonly conn: JetStreamConnection) {
    this.range = new StreamRangeReader(conn.nc, conn.jsm, STREAM_EVENTS, (what, fn) => conn.guarded(what, fn));
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
    const consumer = await this.range.requireConsumer(opts.filter ?? subjects.allEvents, opts.afterStreamSeq ?? 0);
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
   * The events matching the filter after `afterStreamSeq` up to stream sequence `end`, the exact last
   * match (a message's `info.pending` is no stop signal: nats-server 2.9 can report 0 early on
   * filtered ordered consumers).
   */
  private async *readRange(opts: ReadOptions, end: number): AsyncIterable<StoredEvent> {
    for await (const m of this.range.read(opts.filter ?? subjects.allEvents, opts.afterStreamSeq ?? 0, end))
      yield toStored(m.seq, m.subject, m.data);
  }

  private getMsg(query: StreamMessageQuery): Promise<StoredMsg | undefined> {
    return this.conn.guarded('read', () => getStreamMessage(this.conn.jsm, STREAM_EVENTS, query));
  }
}

/** A message of TETHER_EVENTS as a stored event (the envelope parsed). */
export function toStored(streamSeq: number, subject: string, data: Uint8Array): StoredEvent {
  return { streamSeq, subject, event: decodeEnvelope(decodeJson(data)) };
}
