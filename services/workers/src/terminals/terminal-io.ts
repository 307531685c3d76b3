import { EventEmitter } from 'node:events';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';

/**
 * Where terminal bytes travel: tether.term.<id>.out / .in / .scrollback (and .writer, to make the relay
 * read its writer again; .resize, a writer's size, checked like input; .size, the size it then has, and
 * .size.now, asked by a relay that starts) on core NATS, or in-process
 * without NATS. Output carries the terminal log's offset after the chunk, so a follower that joins
 * with the scrollback can drop the chunks the scrollback already holds.
 */
export interface TerminalIO {
  publishOutput(terminalId: string, chunk: Uint8Array, endOffset: number): void;
  onInput(terminalId: string, handler: (msg: TerminalInput) => void): () => void;
  /** Live output of a terminal, wherever it runs (share relays, tests). */
  onOutput(terminalId: string, handler: (chunk: Uint8Array, endOffset: number | undefined) => void): () => void;
  sendInput(terminalId: string, msg: TerminalInput): void;
  /** Answers scrollback requests for a terminal this process runs. */
  serveScrollback(terminalId: string, read: () => Scrollback): () => void;
  requestScrollback(terminalId: string, timeoutMs?: number): Promise<Scrollback>;
  /**
   * Answers "read your writer again" for a terminal this process relays: `refresh` takes the writer
   * from the persisted terminal (so a request, whoever sends it, can only bring the relay to the truth)
   * and returns it.
   */
  serveWriterRefresh(terminalId: string, refresh: () => Promise<string>): () => void;
  /** Has the process relaying the terminal read its writer again; undefined when no process relays it. */
  refreshWriter(terminalId: string, timeoutMs?: number): Promise<string | undefined>;
  /** A writer's size for the terminal, queued with its input; the terminal checks `from` again. */
  sendResize(terminalId: string, msg: TerminalResize): void;
  onResize(terminalId: string, handler: (msg: TerminalResize) => void): () => void;
  /** The terminal's size changed (the terminal tells every relay). */
  publishSize(terminalId: string, size: TerminalSize): void;
  onSize(terminalId: string, handler: (size: TerminalSize) => void): () => void;
  /** Answers "what size are you" for a terminal this process runs. */
  serveSize(terminalId: string, read: () => Promise<TerminalSize>): () => void;
  requestSize(terminalId: string, timeoutMs?: number): Promise<TerminalSize>;
  /** Resolves once the subscriptions made so far are in place (the server has them), so no input sent after is missed. */
  settled(): Promise<void>;
}

/** The last bytes a terminal printed, up to `offset` of its log. */
export interface Scrollback {
  data: Uint8Array;
  offset: number;
}

const OFFSET_HEADER = 'Tether-Offset';

/** One keystroke batch; `from` names the writer (the terminal's session until share grants exist). */
export interface TerminalInput {
  data: string;
  from: string;
}

/** A size a writer asks for; `by` is the name viewers are shown ("sized by alice"). */
export interface TerminalResize {
  cols: number;
  rows: number;
  from: string;
  by: string;
}

/** The terminal's size in cells and who set it (null: nobody since it started; "owner": its own tmux). */
export interface TerminalSize {
  cols: number;
  rows: number;
  by: string | null;
}

export const termSubjects = {
  out: (id: string) => `tether.term.${id}.out`,
  in: (id: string) => `tether.term.${id}.in`,
  scrollback: (id: string) => `tether.term.${id}.scrollback`,
  writer: (id: string) => `tether.term.${id}.writer`,
  resize: (id: string) => `tether.term.${id}.resize`,
  size: (id: string) => `tether.term.${id}.size`,
  sizeNow: (id: string) => `tether.term.${id}.size.now`,
};

const notRunning = (id: string) =>
  new Error(`terminal ${id} is not running on any tether host (no answer to its scrollback request)`);

export class NatsTerminalIO implements TerminalIO {
  constructor(private readonly nc: NatsConnection) {}
  settled() {
    return this.nc.flush(); // a subscription reaches the server with the next flush: input published before is lost
  }
  publishOutput(id: string, chunk: Uint8Array, endOffset: number) {
    // A chunk can be as large as the server's max_payload, which also counts the offset header: split it.
    const most = Math.max(1024, (this.nc.info?.max_payload ?? 1024 * 1024) - 4096);
    for (let start = 0; start < chunk.length; start += most) {
      const piece = chunk.subarray(start, start + most);
      this.nc.publish(termSubjects.out(id), piece, {
        headers: offsetHeaders(endOffset - (chunk.length - start - piece.length)),
      });
    }
  }
  onInput(id: string, handler: (msg: TerminalInput) => void) {
    return this.subscribeJson(termSubjects.in(id), parseInput, handler);
  }
  onOutput(id: string, handler: (chunk: Uint8Array, endOffset: number | undefined) => void) {
    const sub = this.nc.subscribe(termSubjects.out(id), {
      callback: (err, m) => void (err ? undefined : handler(m.data, offsetOf(m.headers?.get(OFFSET_HEADER)))),
    });
    return () => sub.unsubscribe();
  }
  sendInput(id: string, msg: TerminalInput) {
    this.nc.publish(termSubjects.in(id), JSON.stringify(msg));
  }
  serveScrollback(id: string, read: () => Scrollback) {
    const sub = this.nc.subscribe(termSubjects.scrollback(id), {
      callback: (err, m) => {
        if (err) return;
        try {
          const back = read();
          m.respond(back.data, { headers: offsetHeaders(back.offset) });
        } catch {
          // No answer: the requester times out with "not running", as for a terminal nobody runs.
        }
      },
    });
    return () => sub.unsubscribe();
  }
  serveWriterRefresh(id: string, refresh: () => Promise<string>) {
    const sub = this.nc.subscribe(termSubjects.writer(id), {
      callback: (err, m) => {
        if (err) return;
        refresh().then(
          (writer) => m.respond(writer),
          () => undefined, // no answer: the requester times out as for a terminal nobody relays
        );
      },
    });
    return () => sub.unsubscribe();
  }
  async refreshWriter(id: string, timeoutMs = 5_000): Promise<string | undefined> {
    try {
      return (await this.nc.request(termSubjects.writer(id), new Uint8Array(0), { timeout: timeoutMs })).string();
    } catch {
      return undefined;
    }
  }
  sendResize(id: string, msg: TerminalResize) {
    this.nc.publish(termSubjects.resize(id), JSON.stringify(msg));
  }
  onResize(id: string, handler: (msg: TerminalResize) => void) {
    return this.subscribeJson(termSubjects.resize(id), parseResize, handler);
  }
  publishSize(id: string, size: TerminalSize) {
    this.nc.publish(termSubjects.size(id), JSON.stringify(size));
  }
  onSize(id: string, handler: (size: TerminalSize) => void) {
    return this.subscribeJson(termSubjects.size(id), parseSize, handler);
  }
  serveSize(id: string, read: () => Promise<TerminalSize>) {
    const sub = this.nc.subscribe(termSubjects.sizeNow(id), {
      callback: (err, m) => {
        if (err) return;
        read().then(
          (size) => m.respond(JSON.stringify(size)),
          () => undefined, // no answer: the requester times out as for a terminal nobody runs
        );
      },
    });
    return () => sub.unsubscribe();
  }
  async requestSize(id: string, timeoutMs = 5_000): Promise<TerminalSize> {
    let m: Awaited<ReturnType<NatsConnection['request']>>;
    try {
      m = await this.nc.request(termSubjects.sizeNow(id), new Uint8Array(0), { timeout: timeoutMs });
    } catch (err) {
      throw Object.assign(notRunning(id), { cause: err });
    }
    const size = parseSize(m.data);
    if (!size) throw new Error(`terminal ${id} answered its size request with no size`);
    return size;
  }
  private subscribeJson<T>(subject: string, parse: (b: Uint8Array) => T | undefined, handler: (v: T) => void) {
    const sub = this.nc.subscribe(subject, {
      callback: (err, m) => {
        const v = err ? undefined : parse(m.data);
        if (v) handler(v);
      },
    });
    return () => sub.unsubscribe();
  }
  async requestScrollback(id: string, timeoutMs = 5_000): Promise<Scrollback> {
    try {
      const m = await this.nc.request(termSubjects.scrollback(id), new Uint8Array(0), { timeout: timeoutMs });
      const offset = offsetOf(m.headers?.get(OFFSET_HEADER));
      if (offset === undefined) throw new Error(`terminal ${id} answered its scrollback request without an offset`);
      return { data: m.data, offset };
    } catch (err) {
      throw Object.assign(notRunning(id), { cause: err });
    }
  }
}

function offsetHeaders(offset: number) {
  const h = natsHeaders();
  h.set(OFFSET_HEADER, String(offset));
  return h;
}

const offsetOf = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : undefined);

export class LocalTerminalIO implements TerminalIO {
  private readonly bus = new EventEmitter().setMaxListeners(0);
  async settled() {}
  private readonly scrollbacks = new Map<string, () => Scrollback>();
  private readonly writers = new Map<string, () => Promise<string>>();
  private readonly sizes = new Map<string, () => Promise<TerminalSize>>();
  publishOutput(id: string, chunk: Uint8Array, endOffset: number) {
    this.bus.emit(termSubjects.out(id), chunk, endOffset);
  }
  onInput(id: string, handler: (msg: TerminalInput) => void) {
    this.bus.on(termSubjects.in(id), handler);
    return () => void this.bus.off(termSubjects.in(id), handler);
  }
  onOutput(id: string, handler: (chunk: Uint8Array, endOffset: number | undefined) => void) {
    this.bus.on(termSubjects.out(id), handler);
    return () => void this.bus.off(termSubjects.out(id), handler);
  }
  sendInput(id: string, msg: TerminalInput) {
    this.bus.emit(termSubjects.in(id), msg);
  }
  serveScrollback(id: string, read: () => Scrollback) {
    this.scrollbacks.set(id, read);
    return () => void (this.scrollbacks.get(id) === read && this.scrollbacks.delete(id));
  }
  serveWriterRefresh(id: string, refresh: () => Promise<string>) {
    this.writers.set(id, refresh);
    return () => void (this.writers.get(id) === refresh && this.writers.delete(id));
  }
  async refreshWriter(id: string): Promise<string | undefined> {
    return this.writers.get(id)?.();
  }
  sendResize(id: string, msg: TerminalResize) {
    this.bus.emit(termSubjects.resize(id), msg);
  }
  onResize(id: string, handler: (msg: TerminalResize) => void) {
    this.bus.on(termSubjects.resize(id), handler);
    return () => void this.bus.off(termSubjects.resize(id), handler);
  }
  publishSize(id: string, size: TerminalSize) {
    this.bus.emit(termSubjects.size(id), size);
  }
  onSize(id: string, handler: (size: TerminalSize) => void) {
    this.bus.on(termSubjects.size(id), handler);
    return () => void this.bus.off(termSubjects.size(id), handler);
  }
  serveSize(id: string, read: () => Promise<TerminalSize>) {
    this.sizes.set(id, read);
    return () => void (this.sizes.get(id) === read && this.sizes.delete(id));
  }
  async requestSize(id: string): Promise<TerminalSize> {
    const read = this.sizes.get(id);
    if (!read) throw notRunning(id);
    return read();
  }
  async requestScrollback(id: string): Promise<Scrollback> {
    const read = this.scrollbacks.get(id);
    if (!read) throw notRunning(id);
    return read();
  }
}

/**
 * A terminal's output from wherever it runs, handed to `onChunk` in order: first what it printed
 * before (the scrollback), then live output. The live subscription starts first; chunks the
 * scrollback already holds are dropped, so nothing is lost or repeated.
 */
export async function followTerminal(
  io: TerminalIO,
  id: string,
  onChunk: (chunk: Uint8Array) => void,
): Promise<{ stop(): void }> {
  let cut: number | undefined;
  let early: Array<[Uint8Array, number | undefined]> = [];
  const newer = (end: number | undefined) => end === undefined || end > cut!;
  const stop = io.onOutput(id, (chunk, end) => {
    if (cut === undefined) return void early.push([chunk, end]); // until the scrollback says where it ends
    if (newer(end)) onChunk(chunk);
  });
  try {
    const back = await io.requestScrollback(id);
    // One synchronous step: no live chunk can slip in between the history and what queued meanwhile.
    cut = back.offset;
    onChunk(back.data);
    for (const [chunk, end] of early) if (newer(end)) onChunk(chunk);
    early = [];
    return { stop };
  } catch (err) {
    stop();
    throw err;
  }
}

const cells = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) <= 10_000;

function parseResize(bytes: Uint8Array): TerminalResize | undefined {
  const v = parseJson(bytes) as Partial<TerminalResize> | undefined;
  return v && cells(v.cols) && cells(v.rows) && typeof v.from === 'string' && typeof v.by === 'string'
    ? { cols: v.cols, rows: v.rows, from: v.from, by: v.by }
    : undefined;
}

function parseSize(bytes: Uint8Array): TerminalSize | undefined {
  const v = parseJson(bytes) as Partial<TerminalSize> | undefined;
  return v && cells(v.cols) && cells(v.rows) && (typeof v.by === 'string' || v.by === null)
    ? { cols: v.cols, rows: v.rows, by: v.by }
    : undefined;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

function parseInput(bytes: Uint8Array): TerminalInput | undefined {
  const v = parseJson(bytes) as Partial<TerminalInput> | undefined;
  return v && typeof v.data === 'string' && typeof v.from === 'string' ? { data: v.data, from: v.from } : undefined;
}
