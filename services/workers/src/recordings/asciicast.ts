/** The asciicast v2 header: the first line of a recording (https://docs.asciinema.org/manual/asciicast/v2/). */
export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix seconds when the recording began: every line's time counts from it. */
  timestamp: number;
  title?: string;
}

/** One output line: seconds since the header's timestamp, "o", the text printed. */
export type CastEvent = [number, 'o', string];

/** The last line of a recording that reached its size bound. */
export const cutNotice = (maxBytes: number) =>
  `\r\n\x1b[7m tether: recording cut at ${maxBytes} bytes (TETHER_RECORDING_MAX_BYTES); the terminal went on \x1b[0m\r\n`;

/**
 * Turns a terminal's output chunks into asciicast v2 lines. Bytes are decoded with a streaming
 * TextDecoder, so a UTF-8 character split across two chunks comes out whole in the second line.
 * Past `maxBytes` (header included) nothing more is written but one line saying the recording was cut.
 */
export class CastEncoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  /** Bytes of the recording so far (the header's line too). */
  bytes: number;
  cut = false;

  constructor(
    private readonly startMs: number,
    private readonly maxBytes: number,
    already = 0,
  ) {
    this.bytes = already;
  }

  static header(h: Omit<CastHeader, 'version'>): string {
    return `${JSON.stringify({ version: 2, ...h })}\n`;
  }

  /** The lines for a chunk printed at `atMs`; '' when nothing is to be written (empty, or cut already). */
  encode(chunk: Uint8Array, atMs: number): string {
    if (this.cut) return '';
    const text = this.decoder.decode(chunk, { stream: true });
    if (text === '') return '';
    const t = seconds(atMs - this.startMs);
    const line = `${JSON.stringify([t, 'o', text])}\n`;
    const size = Buffer.byteLength(line);
    const notice = `${JSON.stringify([t, 'o', cutNotice(this.maxBytes)])}\n`;
    // Room is kept for the notice: the recording never ends past the bound by more than it.
    if (this.bytes + size + Buffer.byteLength(notice) > this.maxBytes) {
      this.cut = true;
      this.bytes += Buffer.byteLength(notice);
      return notice;
    }
    this.bytes += size;
    return line;
  }
}

/** Seconds with microsecond precision, never negative (a clock step back must not reorder lines). */
const seconds = (ms: number) => Math.max(0, Math.round(ms * 1000) / 1e6);

/** A recording's header and output lines; throws on a body that is not asciicast v2. */
export function parseCast(text: string): { header: CastHeader; events: CastEvent[] } {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const header = JSON.parse(lines[0] ?? '') as CastHeader;
  if (header.version !== 2) throw new Error(`not asciicast v2: the header says version ${String(header.version)}`);
  const events = lines.slice(1).map((l) => JSON.parse(l) as CastEvent);
  return { header, events };
}
