import { TetherError, subjectMatches, subjects, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import { WrongLastSequenceError, type AppendResult } from '../port.ts';
import { Wake } from './common.ts';
import type { JsonLinesFile } from './json-lines.ts';

/** One line of events.jsonl. */
export interface EventLine {
  streamSeq: number;
  subject: string;
  msgId: string;
  /** When it was appended (ISO); drives the duplicate window across restarts. */
  time: string;
  event: EventEnvelope;
}

/** events.jsonl in memory (events by sequence, an index by subject, recent msgIds) over its file. */
export class StreamFile {
  /** Notified after every new event, appended here or read from the file. */
  readonly appended = new Wake();
  private readonly events: StoredEvent[] = []; // events[streamSeq - 1]
  private readonly bySubject = new Map<string, number[]>();
  private readonly recentMsgIds = new Map<string, { streamSeq: number; at: number }>(); // oldest first

  constructor(
    private readonly file: JsonLinesFile<EventLine>,
    private readonly duplicateWindowMs: number,
  ) {
    for (const line of file.load()) this.ingest(line);
  }

  get lastSeq(): number {
    return this.events.length;
  }

  /** De-duplication first, then the subject's last sequence, as JetStream does. */
  append(event: EventEnvelope, msgId: string, expectedLastSeq: number): AppendResult {
    const subject = subjects.event(event.entity, event.entityId);
    const now = Date.now();
    this.forgetExpiredMsgIds(now);
    const seen = this.recentMsgIds.get(msgId);
    if (seen) return { streamSeq: seen.streamSeq, duplicate: true };
    if (this.lastSubjectSeq(subject) !== expectedLastSeq) throw new WrongLastSequenceError(subject, expectedLastSeq);
    // A JSON copy: what is kept in memory is exactly what the file holds, whatever the caller does next.
    const line: EventLine = {
      streamSeq: this.lastSeq + 1,
      subject,
      msgId,
      time: new Date(now).toISOString(),
      event: JSON.parse(JSON.stringify(event)),
    };
    this.file.append(line);
    this.ingest(line);
    return { streamSeq: line.streamSeq, duplicate: false };
  }

  /** Reads what another process appended (read-only stores). */
  refresh(): void {
    const { records, reset } = this.file.readNew();
    if (reset)
      throw new TetherError('INTERNAL', `${this.file.path} was replaced or truncated while in use; reopen the store`);
    for (const line of records) this.ingest(line);
  }

  lastSubjectSeq(subject: string): number {
    return this.bySubject.get(subject)?.at(-1) ?? 0;
  }

  /** A copy of the event, so callers cannot change the stream. */
  get(streamSeq: number): StoredEvent | undefined {
    const e = this.events[streamSeq - 1];
    return e && structuredClone(e);
  }

  /** The first stream sequence after `after` whose subject matches `filter`. */
  nextMatching(after: number, filter: string): number | undefined {
    if (isLiteral(filter)) {
      const seqs = this.bySubject.get(filter) ?? [];
      return seqs[firstAfter(seqs, after)];
    }
    for (let seq = after + 1; seq <= this.lastSeq; seq++)
      if (subjectMatches(filter, this.events[seq - 1]!.subject)) return seq;
    return undefined;
  }

  /** How many events after `after` match `filter`. */
  countAfter(after: number, filter: string): number {
    if (isLiteral(filter)) {
      const seqs = this.bySubject.get(filter) ?? [];
      return seqs.length - firstAfter(seqs, after);
    }
    let n = 0;
    for (let seq = after + 1; seq <= this.lastSeq; seq++)
      if (subjectMatches(filter, this.events[seq - 1]!.subject)) n++;
    return n;
  }

  close(): void {
    this.file.close();
  }

  private ingest(line: EventLine): void {
    if (line.streamSeq !== this.lastSeq + 1) {
      throw new TetherError(
        'INTERNAL',
        `${this.file.path} is corrupt: stream sequence ${line.streamSeq} follows ${this.lastSeq}`,
      );
    }
    this.events.push({ streamSeq: line.streamSeq, subject: line.subject, event: line.event });
    const seqs = this.bySubject.get(line.subject);
    if (seqs) seqs.push(line.streamSeq);
    else this.bySubject.set(line.subject, [line.streamSeq]);
    // Delete first so the map stays in time order when an expired msgId is used again.
    this.recentMsgIds.delete(line.msgId);
    this.recentMsgIds.set(line.msgId, { streamSeq: line.streamSeq, at: Date.parse(line.time) });
    this.appended.notify();
  }

  private forgetExpiredMsgIds(now: number): void {
    for (const [msgId, { at }] of this.recentMsgIds) {
      if (now - at < this.duplicateWindowMs) break;
      this.recentMsgIds.delete(msgId);
    }
  }
}

/** A filter without wildcards names one subject, so the index answers it. */
const isLiteral = (filter: string) => !filter.split('.').some((t) => t === '*' || t === '>');

/** Index of the first element greater than `after` in an ascending list. */
function firstAfter(seqs: number[], after: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
