import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TetherError } from '@tether/contracts';

const KEY_BYTES = 32;

/**
 * A 32-byte key only tether holds: `file` in the data folder (hex, mode 0600), made on first use.
 * Two processes starting at once agree on one key: it is written whole to a temp file and linked
 * into place, so nobody reads it half written, and the loser of the race reads the winner's.
 * `consequence` says what a new key breaks (shown when the file is damaged).
 */
export function loadKeyFile(file: string, consequence: string): Buffer {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  createOnce(file);
  chmodSync(file, 0o600); // a key copied in with looser permissions is narrowed
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (key.length !== KEY_BYTES)
    throw new TetherError(
      'INVALID_CONFIG',
      `${file} is not a ${KEY_BYTES}-byte hex key; restore it from a backup, or delete it to make a new one (${consequence})`,
    );
  return key;
}

function createOnce(file: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, randomBytes(KEY_BYTES).toString('hex'), { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}
