import { closeSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { privateFile } from '@tether/runtime';

/** A change seen by the watch drains at once, but no sooner than this after the last drain (a flood is read in batches). */
const MIN_GAP_MS = 4;

/**
 * Follows a file that tmux appends pane output to, from `offset`, handing each new chunk over.
 * Polling is deliberate: it also works when the file is written while tether is down. A watch on the
 * file wakes the drain as soon as tmux appends, so an echo is not held for the rest of the interval.
 */
export class OutputTail {
  private timer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private wake?: NodeJS.Timeout;
  private lastDrain = 0;
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
    try {
      this.watcher = watch(this.file, { persistent: false }, () => this.soon());
      this.watcher.on('error', () => this.watcher?.close()); // the interval goes on alone
    } catch {
      // No watch (no inotify left): the interval alone, as before.
    }
  }

  private soon() {
    if (this.wake) return;
    this.wake = setTimeout(
      () => {
        this.wake = undefined;
        this.drain();
      },
      Math.max(0, this.lastDrain + MIN_GAP_MS - performance.now()),
    );
  }

  drain() {
    this.lastDrain = performance.now();
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
    clearTimeout(this.wake);
    this.watcher?.close();
  }
}
