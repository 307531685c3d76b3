/**
 * The last `max` bytes of a terminal's output, for participants who join late, at absolute offsets
 * in the relay's stream: a viewer that reconnects gets only the bytes it missed.
 */
export class Scrollback {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Bytes pushed since the stream began: the offset the next chunk starts at. */
  private total = 0;

  constructor(private readonly max = 64 * 1024) {}

  push(chunk: Uint8Array) {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.total += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.max) this.size -= this.chunks.shift()!.length;
  }

  /** One buffer of at most `max` bytes (the oldest chunk may be cut). */
  read(): Uint8Array {
    const all = Buffer.concat(this.chunks);
    return all.length > this.max ? all.subarray(all.length - this.max) : all;
  }

  /** The bytes from absolute `offset` to the end, or undefined when they are no longer (or never were) held. */
  readFrom(offset: number): Uint8Array | undefined {
    if (!Number.isInteger(offset) || offset < this.start || offset > this.total) return undefined;
    const back = this.read();
    return back.subarray(back.length - (this.total - offset));
  }

  /** The absolute offset of the oldest byte held. */
  get start() {
    return this.total - this.bytes;
  }

  /** The absolute offset where the next chunk begins. */
  get end() {
    return this.total;
  }

  get bytes() {
    return Math.min(this.size, this.max);
  }
}
