import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { privateFile } from '@tether/runtime';

/**
 * Follows a file that tmux appends pane output to, from `offset`, handing each new chunk over.
 * Polling is deliberate: it also works when the file is written while tether is down.
 */
export class OutputTail {
  private timer?: NodeJS.Timeout;
  offset: number;

  constructor(
    private readonly file: string,
    private readonly onChunk: (chunk: Uint8Array) => void,
    fromEnd = true,
    private readonly everyMs = 25,
  ) {
    privateFile(file); // terminal output: for tether's user only
    this.offset = fromEnd ? statSync(file).size : 0;
  }

  start() {
    this.timer = setInterval(() => this.drain(), this.everyMs);
  }

  drain() {
    const size = statSync(this.file).size;
    if (size <= this.offset) return;
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(size - this.offset, 1 << 20));
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      if (n > 0) this.onChunk(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}
