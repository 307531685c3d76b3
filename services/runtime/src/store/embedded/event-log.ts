import { subjects, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import type { AppendResult, EventLog, ReadOptions } from '../ports/event-log.ts';
import { POLL_MS, sleep, type StoreContext } from './common.ts';
import type { StreamFile } from './stream-file.ts';

/** The event log over dir/events.jsonl; a read-only store polls the file for what the writer appends. */
export class EmbeddedEventLog implements EventLog {
  constructor(
    private readonly ctx: StoreContext,
    private readonly stream: StreamFile,
  ) {}

  async append(
    event: EventEnvelope,
    { expectedLastSeq, msgId }: { expectedLastSeq: number; msgId: string },
  ): Promise<AppendResult> {
    this.ctx.assertWritable();
    return this.stream.append(event, msgId, expectedLastSeq);
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
    const stream = this.reader();
    const filter = opts.filter ?? subjects.allEvents;
    const end = stream.lastSeq;
    for (
      let seq = stream.nextMatching(opts.afterStreamSeq ?? 0, filter);
      seq !== undefined && seq <= end;
      seq = stream.nextMatching(seq, filter)
    ) {
      yield stream.get(seq)!;
    }
  }

  async *follow(opts: ReadOptions & { signal: AbortSignal }): AsyncIterable<StoredEvent> {
    const stream = this.reader();
    const signal = AbortSignal.any([opts.signal, this.ctx.closing]);
    const filter = opts.filter ?? subjects.allEvents;
    let cursor = opts.afterStreamSeq ?? 0;
    while (!signal.aborted) {
      const seq = stream.nextMatching(cursor, filter);
      if (seq === undefined) {
        cursor = stream.lastSeq; // everything up to here was looked at
        await this.waitForEvents(signal);
        continue;
      }
      cursor = seq;
      yield stream.get(seq)!;
    }
  }

  async lastStreamSeq(): Promise<number> {
    return this.reader().lastSeq;
  }

  /** The stream, brought up to date with the file first when another process writes it. */
  reader(): StreamFile {
    this.ctx.assertOpen();
    if (this.ctx.readOnly) this.stream.refresh();
    return this.stream;
  }

  /** Until something is appended: at once in the writer, by polling the file in a reader. */
  async waitForEvents(signal: AbortSignal): Promise<void> {
    if (!this.ctx.readOnly) return this.stream.appended.wait(signal);
    await sleep(POLL_MS, signal);
    if (!signal.aborted) this.stream.refresh();
  }

  close(): void {
    this.stream.close();
  }
}
