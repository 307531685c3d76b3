import { randomUUID } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TetherError } from '@tether/contracts';

/**
 * This data folder's installation: a stable id, made once. Every process tether starts carries it as
 * TETHER_OWNER, so a later tether (another pid) still finds what an earlier one left running.
 */
export interface Installation {
  id: string;
  createdAt: string;
}

const ID = /^inst-[0-9a-f-]{36}$/;
export const installationFile = (home: string) => join(home, 'installation.json');

/** Reads `$TETHER_HOME/installation.json`, creating it (0600) on first use; two starts racing agree on one. */
export function loadInstallation(home: string): Installation {
  const file = installationFile(home);
  mkdirSync(home, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fresh: Installation = { id: `inst-${randomUUID()}`, createdAt: new Date().toISOString() };
  writeFileSync(tmp, JSON.stringify(fresh), { mode: 0o600 });
  try {
    linkSync(tmp, file); // all or nothing: nobody reads it half written, and the loser of a race reads the winner's
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  chmodSync(file, 0o600);
  let parsed: Partial<Installation> | undefined;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Installation>;
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed.id !== 'string' || !ID.test(parsed.id) || typeof parsed.createdAt !== 'string')
    throw new TetherError(
      'INVALID_CONFIG',
      `${file} is damaged; restore it from a backup (processes of earlier runs are found by its id), or delete it to start a new installation`,
    );
  return { id: parsed.id, createdAt: parsed.createdAt };
}
