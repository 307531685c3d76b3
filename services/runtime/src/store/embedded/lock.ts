import { join, resolve } from 'node:path';
import { acquireLockFile } from '../../files.ts';

/** Takes dir/LOCK for the one writer process; returns the release function. */
export function acquireLock(dir: string): () => void {
  const path = resolve(join(dir, 'LOCK'));
  return acquireLockFile(
    path,
    (pid) =>
      `another tether process (pid ${pid}) owns the embedded event store at ${dir}; stop that process, ` +
      `or set NATS_URL to share a NATS JetStream server between processes (if pid ${pid} is not tether, delete ${path})`,
  );
}
