import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TetherError } from '@tether/contracts';
import { privateDir } from '../files.ts';
import { checkpointEmpty, checkpointMissing } from './checkpoint-errors.ts';
import {
  checkBody,
  checkRef,
  checkTerminalId,
  isDigest,
  sha256Hex,
  snapshotKey,
  type SnapshotRef,
  type SnapshotStore,
} from './snapshot-store.ts';

const TEMP = '.tmp';
/** Bytes per write call: a 16 MiB snapshot does not hold one libuv thread in a single write. */
const SLICE = 1024 * 1024;

/**
 * Snapshots as files for the embedded store: `<dir>/<terminalId>/<sha256>`, 0600 in 0700 folders.
 * A put writes a temp file beside it (`<digest>.<pid>.<nonce>.tmp`), fsyncs it, reads it back and
 * renames it into place, then fsyncs the folder: a reader sees a whole snapshot or none, and a
 * crash mid-write leaves only a temp file (sweepTemp) next to the previous good snapshots.
 */
export class FileSnapshotStore implements SnapshotStore {
  readonly kind = 'files' as const;
  /** Temp files of this process's puts in flight: never swept. */
  private readonly writing = new Set<string>();

  constructor(readonly dir: string) {
    privateDir(dir);
  }

  async put(terminalId: string, body: Uint8Array): Promise<SnapshotRef> {
    checkTerminalId(terminalId);
    if (body.length === 0) throw checkpointEmpty(terminalId);
    const digest = sha256Hex(body);
    const ref = { key: snapshotKey(terminalId, digest), digest, bytes: body.length };
    const folder = await this.folderOf(terminalId);
    const path = join(folder, digest);
    if (await this.intact(terminalId, ref)) return ref; // the same body is already there, whole
    const tmp = join(folder, `${digest}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP}`);
    this.writing.add(tmp);
    try {
      await writeSynced(tmp, body);
      // The digest names the file: a temp that does not read back as the body never takes the name.
      checkBody(terminalId, ref, await readFile(tmp));
      await rename(tmp, path);
      await fsyncDir(folder);
      return ref;
    } catch (err) {
      await rm(tmp, { force: true });
      throw unavailable(err, `cannot write the checkpoint of terminal ${terminalId} to ${path}`);
    } finally {
      this.writing.delete(tmp);
    }
  }

  async get(terminalId: string, ref: SnapshotRef): Promise<Uint8Array> {
    checkRef(terminalId, ref);
    const path = join(this.dir, terminalId, ref.digest);
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw checkpointMissing(terminalId, ref.key);
      throw unavailable(err, `cannot read the checkpoint of terminal ${terminalId} at ${path}`);
    }
    return checkBody(terminalId, ref, body);
  }

  async keepOnly(terminalId: string, keep: SnapshotRef[]): Promise<void> {
    checkTerminalId(terminalId);
    const kept = new Set(keep.map((r) => r.digest));
    const folder = join(this.dir, terminalId);
    for (const name of await entries(folder))
      if (!name.endsWith(TEMP) && !kept.has(name)) await rm(join(folder, name), { force: true });
  }

  async removeAll(terminalId: string): Promise<void> {
    checkTerminalId(terminalId);
    await rm(join(this.dir, terminalId), { recursive: true, force: true });
  }

  async sweepTemp(): Promise<string[]> {
    const removed: string[] = [];
    for (const terminalId of await entries(this.dir)) {
      const folder = join(this.dir, terminalId);
      for (const name of await entries(folder)) {
        const path = join(folder, name);
        if (!name.endsWith(TEMP) || this.writing.has(path) || writerAlive(name)) continue;
        await rm(path, { force: true });
        removed.push(path);
      }
    }
    return removed;
  }

  async terminals(): Promise<string[]> {
    const ids: string[] = [];
    for (const terminalId of await entries(this.dir))
      if ((await entries(join(this.dir, terminalId))).some(isDigest)) ids.push(terminalId);
    return ids.sort();
  }

  private async folderOf(terminalId: string): Promise<string> {
    const folder = join(this.dir, terminalId);
    // A new folder is an entry of the store's folder: made durable too, or a crash could lose it with its snapshot.
    if (await mkdir(folder, { recursive: true, mode: 0o700 })) await fsyncDir(this.dir);
    await chmod(folder, 0o700);
    return folder;
  }

  private async intact(terminalId: string, ref: SnapshotRef): Promise<boolean> {
    try {
      await this.get(terminalId, ref);
      return true;
    } catch {
      return false; // missing or damaged: written again
    }
  }
}

async function writeSynced(path: string, body: Uint8Array): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    for (let off = 0; off < body.length; ) {
      const { bytesWritten } = await fh.write(body, off, Math.min(SLICE, body.length - off));
      off += bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a rename or a new entry in `dir` durable. */
async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw unavailable(err, `cannot list checkpoints in ${dir}`);
  }
}

/** Whether the temp file `name` belongs to a put still running in another live process. */
function writerAlive(name: string): boolean {
  const pid = Number(name.split('.')[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false; // ours but not in flight: stale
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unavailable(err: unknown, what: string): Error {
  if (err instanceof TetherError) return err;
  return new TetherError(
    'UNAVAILABLE',
    `${what}: ${(err as Error).message}; free disk space or fix the folder's permissions`,
    {
      cause: err,
    },
  );
}
