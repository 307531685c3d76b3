import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TetherError } from '@tether/contracts/tether-error';

/**
 * What a running `tether up` writes in its data folder, so `tether down` finds it and a second
 * `tether up` on the same folder is refused. Written before anything starts, removed on every exit.
 */
export interface RunState {
  pid: number;
  startedAt: string;
  /** Once it listens. */
  url?: string;
}

export const runFile = (home: string) => join(home, 'tether.run.json');

export function readRun(home: string): RunState | undefined {
  try {
    const s = JSON.parse(readFileSync(runFile(home), 'utf8')) as Partial<RunState>;
    return typeof s.pid === 'number' ? (s as RunState) : undefined;
  } catch {
    return undefined; // none, or half-written by a process killed while writing it
  }
}

/** The tether that runs on this data folder, if one does (a stale file of a crashed one does not count). */
export function runningTether(home: string): RunState | undefined {
  const s = readRun(home);
  return s && s.pid !== process.pid && isTether(s.pid) ? s : undefined;
}

/** This process's claim on the data folder: refused while another tether runs on it. */
export function claimRun(home: string) {
  const file = runFile(home);
  const state: RunState = { pid: process.pid, startedAt: new Date().toISOString() };
  claimFile(home, file, state, () => runningTether(home));
  return {
    ready(url: string) {
      writeFileSync(file, JSON.stringify({ ...state, url }));
    },
    /** Removes the file if it is still this process's (synchronous: it also runs in an exit handler). */
    release() {
      if (readRun(home)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

/**
 * What a supervising `tether up` writes beside the run file (which its server writes): `tether down`
 * signals the supervisor, so it stops even between two servers and restarts none.
 */
export const supervisorFile = (home: string) => join(home, 'tether.supervisor.json');

/** The supervisor of the tether on this data folder, if one runs. */
export function runningSupervisor(home: string): { pid: number } | undefined {
  try {
    const s = JSON.parse(readFileSync(supervisorFile(home), 'utf8')) as { pid?: unknown };
    return typeof s.pid === 'number' && s.pid !== process.pid && isTether(s.pid) ? { pid: s.pid } : undefined;
  } catch {
    return undefined;
  }
}

/** The supervisor's claim: refused while a tether (supervised or not) runs on the folder. It is not the run claim. */
export function claimSupervisor(home: string) {
  const file = supervisorFile(home);
  claimFile(
    home,
    file,
    { pid: process.pid, startedAt: new Date().toISOString() },
    () => runningTether(home) ?? runningSupervisor(home),
  );
  return {
    release() {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid === process.pid) rmSync(file);
      } catch {
        /* gone already */
      }
    },
  };
}

/** Creates `file` exclusively (two starts cannot both win), replacing one whose process is gone. */
function claimFile(home: string, file: string, state: object, other: () => { pid: number; url?: string } | undefined) {
  mkdirSync(home, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(state), { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const running = other();
      if (running)
        throw new TetherError(
          'UNAVAILABLE',
          `tether already runs on data folder ${home} (pid ${running.pid}${running.url ? ` at ${running.url}` : ''}); stop it with \`tether down\`, or set another TETHER_HOME`,
        );
      rmSync(file, { force: true }); // left by a tether that crashed
    }
  }
}

/** A live process that is a tether (its command line says so), not a zombie nor an unrelated process with a reused pid. */
export function isTether(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    if (/ Z /.test(stat.replace(/^.*\)/, ''))) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('tether');
  } catch {
    return false; // gone (or no /proc: a pid file is not trusted without it)
  }
}
