import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { childEnv } from './child-env.ts';
import { processesMarked } from './proc-scan.ts';
import { signal, terminate } from './terminate.ts';

export type WorkerExit = { code: number | null; signal: string | null };

/** A worker started in a process group of its own, found again by its environment marker. */
export interface ProcessGroup {
  /** Group leader; also the process group id. 0 when the spawn itself failed. */
  readonly pid: number;
  /** `[name, value]` put in the environment of the leader and everything it starts. */
  readonly marker: readonly [string, string];
  readonly exited: Promise<WorkerExit>;
  /** True until node has reaped the leader: only then may `-pid` be signalled (the id cannot be reused before). */
  alive(): boolean;
  /** The last lines the worker printed (stdout and stderr share one log file), for error messages. */
  logTail(lines?: number): string;
}

export interface SpawnGroupOptions {
  env: Record<string, string>;
  /** Where stdout and stderr go (truncated first). */
  logFile: string;
  cwd?: string;
  /** 'pipe' keeps an open, never written stdin: some hosts (upterm) end at EOF on stdin. */
  stdin?: 'ignore' | 'pipe';
  /** Name of the environment marker unique to this worker (its value is a fresh uuid); `stop` trusts only it once the leader is gone. */
  markerName: string;
  /** Applied to `logTail` (a worker's output may hold secrets). */
  redact?: (text: string) => string;
}

/**
 * Spawns `file args` as leader of a new session/process group (`detached`), with the environment of
 * this process minus tether's secrets and TMUX (the worker must not think it runs inside tether's
 * tmux), plus `env` and a fresh unique marker.
 */
export function spawnGroup(file: string, args: string[], opts: SpawnGroupOptions): ProcessGroup {
  const marker = [opts.markerName, randomUUID()] as const;
  const env = Object.assign(childEnv(['TMUX', 'TMUX_PANE']), opts.env, { [marker[0]]: marker[1] });
  const log = openSync(opts.logFile, 'w', 0o600); // the worker prints its session strings: bearer secrets
  let sub: ReturnType<typeof spawnDetached>;
  try {
    sub = spawnDetached(file, args, env, log, opts);
  } finally {
    closeSync(log); // the child has its own copy
  }
  sub.stdin?.on('error', () => {}); // never written; a closed pipe is no news
  const exited = new Promise<WorkerExit>((resolve) => {
    sub.once('exit', (code, signal) => resolve({ code, signal }));
    sub.on('error', () => sub.pid === undefined && resolve({ code: null, signal: null })); // could not spawn at all
  });
  return {
    pid: sub.pid ?? 0,
    marker,
    exited,
    alive: () => sub.pid !== undefined && sub.exitCode === null && sub.signalCode === null,
    logTail: (lines = 3) => (opts.redact ?? String)(tail(opts.logFile, lines)),
  };
}

// node:child_process here, not execa: the output goes straight to a file descriptor (execa types only take fds 3-9), and exitCode/signalCode say whether the leader is reaped.
function spawnDetached(
  file: string,
  args: string[],
  env: Record<string, string>,
  log: number,
  opts: SpawnGroupOptions,
) {
  return spawn(file, args, { env, cwd: opts.cwd, detached: true, stdio: [opts.stdin ?? 'ignore', log, log] });
}

/** Pids of live processes carrying this group's marker (leader included while it lives). */
export const markedProcesses = (g: ProcessGroup): number[] => processesMarked(g.marker[0], g.marker[1]);

/** Signals the group (only while its leader is unreaped) and every process carrying its marker. */
export function signalGroup(g: ProcessGroup, sig: NodeJS.Signals): void {
  for (const t of new Set([...leader(g), ...markedProcesses(g)])) signal(t, sig);
}

/** `-pid` only while node has not reaped the leader: until then the group id cannot have been reused. */
const leader = (g: ProcessGroup): number[] => (g.alive() ? [-g.pid] : []);

/**
 * SIGTERM, up to `graceMs` for everything marked to go, then SIGKILL (which also ends a stopped
 * process); resolves once no marked process is left and the leader is reaped. Processes outside the
 * group (a tmux pane runs in a session of its own) are reached through the marker.
 */
export async function stopGroup(g: ProcessGroup, graceMs = 3_000): Promise<void> {
  await terminate({ marked: () => markedProcesses(g), groups: () => leader(g), done: () => !g.alive(), graceMs });
  if (g.pid) await Promise.race([g.exited, sleep(2_000, undefined, { ref: false })]);
}

/** Last lines of a log that may be long (tmate prints every reconnection): only its last 4 KiB are read. */
function tail(file: string, lines: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 4096));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    const text = buf.toString('utf8').split('\n');
    if (buf.length < size) text.shift(); // read from mid-line: a cut-off fragment redaction might not recognise
    return text
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-lines)
      .join(' | ');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
