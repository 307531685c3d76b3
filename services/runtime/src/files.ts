import {
  chmodSync,
  closeSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { TetherError } from '@tether/contracts';

// Single-writer files of the embedded store and the file audit trail: a pid lock and whole-line appends.

// Lock files this process holds: our own pid in a lock we do not hold is a stale one from an earlier
// run that had the same pid (pid 1 in a container, say).
const held = new Set<string>();

/**
 * Takes the lock file `path` for this process; returns the release function. A lock left by a dead
 * process is taken over; one held by a live process throws UNAVAILABLE with `busy(pid)` as the message.
 */
export function acquireLockFile(path: string, busy: (pid: number) => string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path)) {
      held.add(path);
      return () => release(path);
    }
    const pid = readPid(path);
    if (pid !== undefined && isAlive(pid) && (pid !== process.pid || held.has(path)))
      throw new TetherError('UNAVAILABLE', busy(pid));
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  throw new TetherError('UNAVAILABLE', `cannot take the lock ${path}: other processes keep racing for it`);
}

/**
 * Appends `value` as one JSON line at byte `size` of the open append handle `fd`; returns the new
 * size. A synchronous write: once it returns the line survives a kill -9 of the process.
 */
export function appendJsonLine(fd: number, size: number, path: string, value: unknown): number {
  const buf = Buffer.from(`${JSON.stringify(value)}\n`);
  try {
    writeAll(fd, buf);
  } catch (err) {
    // Cut a partial line (disk full), so the next append does not glue onto it.
    try {
      ftruncateSync(fd, size);
    } catch {}
    throw new TetherError('UNAVAILABLE', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  return size + buf.length;
}

/**
 * A folder only tether's user may enter (0700), for terminal output and keys: made if missing, and
 * narrowed if it exists (made by an older tether, or under a loose umask).
 */
export function privateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

/** A file only tether's user may read (0600): made empty if missing, narrowed if it exists; its content is kept. */
export function privateFile(path: string): string {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  return path;
}

export function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}

/** Creates the lock with our pid in one step (link of a written temp file), so nobody reads it empty. */
function tryCreate(path: string): boolean {
  const tmp = `${path}.${process.pid}`;
  writeFileSync(tmp, `${process.pid}\n`);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function release(path: string): void {
  held.delete(path);
  if (readPid(path) === process.pid) rmSync(path, { force: true });
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}
