import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { privateDir } from '@tether/runtime';
import { checkRecordingId, type RecordingStore, type StoredRecording } from './recording-store.ts';

const EXT = '.cast';

/**
 * Recordings as files for the embedded store: `<dir>/<terminalId>.cast`, 0600 in a 0700 folder. A put
 * writes a temp file beside it and renames it into place, so a player reads a whole copy.
 */
export class FileRecordingStore implements RecordingStore {
  readonly kind = 'files' as const;

  constructor(readonly dir: string) {
    privateDir(dir);
  }

  async put(terminalId: string, body: Uint8Array): Promise<void> {
    checkRecordingId(terminalId);
    const tmp = join(this.dir, `.${terminalId}.${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path(terminalId)).catch(async (err) => {
      await rm(tmp, { force: true });
      throw err;
    });
  }

  async get(terminalId: string): Promise<Uint8Array | undefined> {
    checkRecordingId(terminalId);
    try {
      return await readFile(this.path(terminalId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(): Promise<StoredRecording[]> {
    const out: StoredRecording[] = [];
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith(EXT) || name.startsWith('.')) continue;
      const s = await stat(join(this.dir, name)).catch(() => undefined);
      if (s) out.push({ terminalId: name.slice(0, -EXT.length), bytes: s.size, modifiedAt: s.mtime });
    }
    return out;
  }

  async remove(terminalId: string): Promise<void> {
    checkRecordingId(terminalId);
    await rm(this.path(terminalId), { force: true });
  }

  private path = (terminalId: string) => join(this.dir, `${terminalId}${EXT}`);
}
