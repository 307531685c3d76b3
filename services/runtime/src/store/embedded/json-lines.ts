import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { TetherError } from '@tether/contracts';
import { appendJsonLine, writeAll } from '../../files.ts';
import type { Logger } from '../../logger.ts';

/**
 * An append-only file of JSON records, one a line. Appends are synchronous writes, so a record whose
 * append returned is in the kernel and survives a kill -9 of the process.
 */
export class JsonLinesFile<T> {
  private fd: number | undefined; // append handle, writers only
  private size = 0; // bytes of complete records read or written
  private ino: number | undefined;

  constructor(
    readonly path: string,
    private readonly writable: boolean,
    private readonly logger: Logger,
  ) {}

  /** Every complete record; a torn last line (a crash mid-write) is skipped, and cut away by a writer. */
  load(): T[] {
    const { records } = this.readNew();
    if (this.writable) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'a');
      const actual = fstatSync(this.fd).size;
      if (actual > this.size) {
        this.logger.warn(
          { file: this.path, bytes: actual - this.size },
          'cutting away a torn last line left by a crash',
        );
        ftruncateSync(this.fd, this.size);
      }
    }
    return records;
  }

  /** Records appended (by another process) since the last read; `reset` when the file was replaced or removed. */
  readNew(): { records: T[]; reset: boolean } {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const reset = this.size > 0;
      this.size = 0;
      this.ino = undefined;
      return { records: [], reset };
    }
    try {
      const st = fstatSync(fd);
      const reset = this.ino !== undefined && (st.ino !== this.ino || st.size < this.size);
      if (reset) this.size = 0;
      this.ino = st.ino;
      if (st.size <= this.size) return { records: [], reset };
      const buf = Buffer.alloc(st.size - this.size);
      for (let got = 0; got < buf.length; ) {
        const n = readSync(fd, buf, got, buf.length - got, this.size + got);
        if (n === 0) break;
        got += n;
      }
      const { records, bytes } = parseLines<T>(buf, this.path, this.size);
      this.size += bytes;
      return { records, reset };
    } finally {
      closeSync(fd);
    }
  }

  append(record: T): void {
    if (this.fd === undefined) throw new TetherError('INTERNAL', `${this.path} is not open for writing`);
    this.size = appendJsonLine(this.fd, this.size, this.path, record);
  }

  /** Atomically replaces the content (compaction): readers see a new file and reload it. */
  rewrite(records: T[]): void {
    const tmp = `${this.path}.tmp`;
    const buf = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const fd = openSync(tmp, 'w');
    try {
      writeAll(fd, buf);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.close();
    this.fd = openSync(this.path, 'a');
    this.size = buf.length;
    this.ino = fstatSync(this.fd).ino;
  }

  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
    this.size = 0;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Parses complete lines; stops before a damaged last line and before a line still being written. */
function parseLines<T>(buf: Buffer, path: string, base: number): { records: T[]; bytes: number } {
  const records: T[] = [];
  let start = 0;
  for (let nl = buf.indexOf(10, start); nl !== -1; start = nl + 1, nl = buf.indexOf(10, start)) {
    try {
      records.push(JSON.parse(buf.toString('utf8', start, nl)) as T);
    } catch (err) {
      // Only the last line can be damaged by a crash; a bad line with complete lines after it is corruption.
      if (buf.indexOf(10, nl + 1) !== -1) {
        throw new TetherError('INTERNAL', `${path} is corrupt at byte ${base + start}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      break;
    }
  }
  return { records, bytes: start };
}
