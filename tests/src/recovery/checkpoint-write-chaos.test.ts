import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FileSnapshotStore } from '@tether/runtime';
import { afterAll, describe, expect, it } from 'vitest';

// kill -9 of a process in the middle of a checkpoint write: the previous good checkpoint must read
// back intact, no partial snapshot may take a name, and sweepTemp must find and remove the temp file.

const WRITER = fileURLToPath(new URL('./fixtures/checkpoint-writer.ts', import.meta.url));
const BODY = 16 * 1024 * 1024;
const TERMINAL = 'chaos-term';
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const temps = (folder: string) => (existsSync(folder) ? readdirSync(folder).filter((n) => n.endsWith('.tmp')) : []);

/**
 * Starts the writer and kills it with SIGKILL as soon as it has put anything new in the terminal's
 * folder (its temp file, when it writes atomically); returns that entry and its size then.
 */
async function killMidWrite(dir: string, known: string): Promise<{ entryAtKill: string; sizeAtKill: number }> {
  const folder = join(dir, TERMINAL);
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, TERMINAL, String(BODY)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the writer exited by itself (${child.exitCode}): ${stderr}`);
    const entryAtKill = readdirSync(folder).find((n) => n !== known);
    if (entryAtKill) {
      let sizeAtKill = -1;
      try {
        sizeAtKill = statSync(join(folder, entryAtKill)).size;
      } catch {} // renamed between the listing and the stat
      child.kill('SIGKILL');
      await exited;
      return { entryAtKill, sizeAtKill };
    }
    await sleep(1);
  }
}

describe('chaos: kill -9 in the middle of a checkpoint write (FileSnapshotStore)', () => {
  it('keeps the previous good checkpoint and leaves only a temp file, which sweepTemp removes and reports; 5 times', async () => {
    const kills: { sizeAtKill: number }[] = [];
    for (let attempt = 0; kills.length < 5; attempt++) {
      expect(attempt, 'the kill kept landing after the rename: no write was interrupted').toBeLessThan(15);
      const dir = join(mkdtempSync(join(tmpdir(), 'tether-ckpt-chaos-')), 'checkpoints');
      dirs.push(dir);
      const store = new FileSnapshotStore(dir);
      const good = randomBytes(256 * 1024);
      const goodRef = await store.put(TERMINAL, good);

      const { entryAtKill, sizeAtKill } = await killMidWrite(dir, goodRef.digest);
      const folder = join(dir, TERMINAL);

      // The previous good checkpoint is intact, and no file that carries a digest name holds anything else.
      expect(Buffer.from(await store.get(TERMINAL, goodRef)).equals(good)).toBe(true);
      for (const name of readdirSync(folder).filter((n) => !n.endsWith('.tmp')))
        expect(
          createHash('sha256')
            .update(readFileSync(join(folder, name)))
            .digest('hex'),
        ).toBe(name);
      const left = temps(folder);
      if (!left.includes(entryAtKill)) continue; // that put finished before the kill: not mid-write, try again
      kills.push({ sizeAtKill });

      expect(await store.sweepTemp()).toEqual(left.map((n) => join(folder, n)));
      expect(temps(folder)).toEqual([]);
      expect(await store.terminals()).toEqual([TERMINAL]);
      expect(Buffer.from(await store.get(TERMINAL, goodRef)).equals(good)).toBe(true);
    }
    // At least one kill found the temp file still short of the body: killed while writing, not after.
    expect(
      kills.some((k) => k.sizeAtKill >= 0 && k.sizeAtKill < BODY),
      JSON.stringify(kills),
    ).toBe(true);
  }, 120_000);
});
