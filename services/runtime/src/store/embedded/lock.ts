import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TetherError } from '@tether/contracts';

// Lock files this process holds: our own pid in a LOCK we do not hold is a stale one from an earlier
// run that had the same pid (pid 1 in a container, say).
const held = new Set<string>();

/** Takes dir/LOCK for the one writer process; returns the release function. */
export function acquireLock(dir: string): () => void {
  const path = resolve(join(dir, 'LOCK'));
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path)) {
      held.add(path);
      return () => release(path);
    }
    const pid = readPid(path);
    if (pid !== undefined && isAlive(pid) && (pid !== process.pid || held.has(path))) {
      throw new TetherError(
        'UNAVAILABLE',
        `another tether process (pid ${pid}) owns the embedded event store at ${dir}; stop that process, ` +
          `or set NATS_URL to share a NATS JetStream server between processes (if pid ${pid} is not tether, delete ${path})`,
      );
    }
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  throw new TetherError('UNAVAILABLE', `cannot take the lock ${path}: other processes keep racing for it`);
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
