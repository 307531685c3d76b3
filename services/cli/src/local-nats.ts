import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TetherError } from '@tether/contracts/tether-error';
import { freePort, processesMarked, signal, terminate, waitForPort } from '@tether/runtime';

/**
 * The nats-server `tether up` runs under the data folder when there is no NATS_URL. It is started
 * detached (Ctrl-C in the terminal reaches tether, which stops it after closing its store), outlives a
 * crash of tether (the next `tether up` reuses it) and is stopped by the tether that runs it.
 */
export interface LocalNats {
  url: string;
  dir: string;
  /** Started by an earlier `tether up` that crashed; this one adopts it and stops it. */
  reused: boolean;
}

/** The environment marker of a local nats-server: found by a /proc scan, never by a pid that may be reused. */
const MARK = 'TETHER_NATS_DIR';
const natsDir = (home: string) => join(home, 'nats');
const urlFile = (home: string) => join(natsDir(home), 'url');
export const natsLog = (home: string) => join(natsDir(home), 'nats-server.log');
const authFile = (home: string) => join(natsDir(home), 'auth.conf');

/**
 * The local nats-server's only user, "tether", and its password (random, in nats/auth.conf, 0600): a
 * server on 127.0.0.1 is still reachable by every local user, and its subjects carry terminal input.
 */
export function localNatsCredentials(home: string): { user: string; pass: string } {
  const file = authFile(home);
  if (!existsSync(file)) {
    mkdirSync(natsDir(home), { recursive: true });
    const pass = randomBytes(24).toString('hex');
    writeFileSync(file, `authorization { user: tether, password: "${pass}" }\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  const pass = /password: "([0-9a-f]+)"/.exec(readFileSync(file, 'utf8'))?.[1];
  if (!pass)
    throw new TetherError('INVALID_CONFIG', `${file} is not tether's; delete it (and stop the local nats-server)`);
  return { user: 'tether', pass };
}

/** The local nats-server's URL while it runs (CLI commands connect to it); undefined when none runs. */
export function localNatsUrl(home: string): string | undefined {
  const f = urlFile(home);
  if (!existsSync(f)) return undefined;
  const [url, pid] = readFileSync(f, 'utf8').trim().split(' ');
  return pid && localNatsPids(home).includes(Number(pid)) ? url : undefined;
}

/** Pids of the local nats-servers of this data folder (one, unless something went wrong). */
export function localNatsPids(home: string): number[] {
  const pids = processesMarked(MARK, natsDir(home));
  // One started before the marker existed: its URL file's pid, if that process serves this folder's store.
  const listed = Number(existsSync(urlFile(home)) ? readFileSync(urlFile(home), 'utf8').trim().split(' ')[1] : NaN);
  if (listed && !pids.includes(listed) && servesStore(listed, home)) pids.push(listed);
  return pids;
}

function servesStore(pid: number, home: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(`\0${join(natsDir(home), 'jetstream')}\0`);
  } catch {
    return false;
  }
}

/** Starts the local nats-server, or adopts the one a crashed `tether up` left; a failed start leaves nothing running. */
export async function startLocalNats(bin: string, home: string): Promise<LocalNats> {
  const dir = natsDir(home);
  mkdirSync(dir, { recursive: true });
  const existing = localNatsUrl(home);
  if (existing) return { url: existing, dir, reused: true };
  localNatsCredentials(home); // the config file it reads its user from
  const port = await freePort();
  const child = spawn(
    bin,
    [
      '-c',
      authFile(home),
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-js',
      '-sd',
      join(dir, 'jetstream'),
      '-l',
      natsLog(home),
    ],
    { stdio: 'ignore', detached: true, env: { ...process.env, [MARK]: dir } },
  );
  child.unref();
  const url = `nats://127.0.0.1:${port}`;
  writeFileSync(urlFile(home), `${url} ${child.pid}\n`);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) => reject(new Error(`it exited (${sig ?? `code ${code}`})`))),
  );
  try {
    await Promise.race([waitForPort(port), exited]);
  } catch (err) {
    await stopLocalNats(home);
    throw new TetherError(
      'UNAVAILABLE',
      `the local nats-server did not start on port ${port}: ${(err as Error).message}; see ${natsLog(home)}, or set NATS_URL`,
    );
  } finally {
    exited.catch(() => undefined);
  }
  return { url, dir, reused: false };
}

/** Stops the local nats-server (SIGTERM, then SIGKILL after 2 s) and forgets its URL; returns the pids it stopped. */
export async function stopLocalNats(home: string): Promise<number[]> {
  const pids = localNatsPids(home);
  await terminate({ marked: () => localNatsPids(home), graceMs: 2_000 });
  rmSync(urlFile(home), { force: true });
  return pids;
}

/** The same without waiting, for a process that is exiting now: SIGTERM is enough, nats-server ends by itself. */
export function stopLocalNatsNow(home: string): void {
  for (const pid of localNatsPids(home)) signal(pid, 'SIGTERM');
  rmSync(urlFile(home), { force: true });
}
