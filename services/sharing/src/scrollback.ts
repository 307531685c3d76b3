/** The last `max` bytes of a terminal's output, for participants who join late. */
export class Scrollback {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly max = 64 * 1024) {}

  push(chunk: Uint8Array) {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.max) this.size -= this.chunks.shift()!.length;
  }

  /** One buffer of at most `max` bytes (the oldest chunk may be cut). */
  read(): Uint8Array {
    const all = Buffer.concat(this.chunks);
    return all.length > this.max ? all.subarray(all.length - this.max) : all;
  }

  get bytes() {
    return Math.min(this.size, this.max);
  }
}
