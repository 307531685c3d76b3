import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TetherError } from '@tether/contracts';
import { privateDir, spawnGroup, stopGroup, type ProcessGroup, type WorkerExit } from '@tether/runtime';
import { redactSessionStrings, runBounded } from './backend-commands.ts';

/** Marks every process of one share worker (a fresh uuid each): how stop and restart find them. */
export const WORKER_MARKER = 'TETHER_SHARE_WORKER';

export const DEFAULT_READY_TIMEOUT_MS = 10_000;

export interface ShareLinks {
  ssh_ro?: string;
  ssh_rw?: string;
  web_ro?: string;
  web_rw?: string;
}

export interface BackendStartSpec {
  shareId: string;
  terminalId: string;
  /** read => only read-only links are produced/returned (tmate: only *_ro; upterm: --read-only). */
  access: 'read' | 'write';
  /** tether's tmux socket; the terminal is the tmux session named exactly terminalId on it. */
  tmuxSocket: string;
  /** A folder the adapter may use for its sockets/config/files (created if missing). */
  workDir: string;
  /** Markers for the worker's environment, e.g. TETHER_OWNER, TETHER_SHARE_ID. */
  env: Record<string, string>;
  /** Bound for becoming ready; 0 means DEFAULT_READY_TIMEOUT_MS. */
  readyTimeoutMs: number;
}

export interface RunningShareWorker {
  /** Process-group leader. */
  readonly pid: number;
  readonly links: ShareLinks;
  /** Resolves when the backend answers; rejects on error or after timeoutMs (a hung worker). */
  probe(timeoutMs: number): Promise<void>;
  /** Resolves when the worker process exits (by itself or killed), with how. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM the group, 3 s, SIGKILL; resolves when nothing marked with this share is left. */
  stop(): Promise<void>;
}

export interface ShareBackendAdapter {
  readonly name: 'tmate' | 'upterm';
  /** Throws TetherError('NOT_ALLOWED', …, { reason: 'BACKEND_UNAVAILABLE' }) when the binary is missing or the config is incomplete. */
  check(): Promise<void>;
  /** Starts the worker and waits until it is ready with links; on failure kills what it started and throws, leaving the tmux terminal untouched. */
  start(spec: BackendStartSpec): Promise<RunningShareWorker>;
}

export const BackendReason = {
  UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  NOT_READY: 'BACKEND_NOT_READY',
  FAILED: 'BACKEND_FAILED',
} as const;

// NOT_ALLOWED with a reason, not UNAVAILABLE: a share whose backend fails is reported failed, never redelivered forever.
export const backendUnavailable = (message: string) =>
  new TetherError('NOT_ALLOWED', message, { reason: BackendReason.UNAVAILABLE });
export const backendNotReady = (message: string) =>
  new TetherError('NOT_ALLOWED', message, { reason: BackendReason.NOT_READY });
export const backendFailed = (message: string) =>
  new TetherError('NOT_ALLOWED', message, { reason: BackendReason.FAILED });

/** Absolute path of an executable: `bin` itself when it has a slash, else the first match on PATH. */
export function findExecutable(bin: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = bin.includes('/')
    ? [bin]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, bin));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The RunningShareWorker over a started group; `probeArgs` is a client command that answers only while the worker does. */
function runningWorker(
  group: ProcessGroup,
  links: ShareLinks,
  bin: string,
  probeArgs: string[],
  what: string,
): RunningShareWorker {
  let stopping: Promise<void> | undefined;
  return {
    pid: group.pid,
    links,
    exited: group.exited,
    async probe(timeoutMs) {
      if (!group.alive()) throw backendFailed(`${what} is not running`);
      const r = await runBounded(bin, probeArgs, timeoutMs);
      if (r.timedOut) throw backendFailed(`${what} did not answer within ${timeoutMs} ms (hung?)`);
      if (!r.ok)
        throw backendFailed(`${what} did not answer: ${redactSessionStrings(r.stderr || r.stdout || 'no output')}`);
    },
    stop: () => (stopping ??= stopGroup(group)),
  };
}

export const describeExit = (e: WorkerExit) => (e.signal ? `signal ${e.signal}` : `code ${e.code}`);

export interface Launch {
  /** e.g. "tmate", for messages. */
  what: string;
  /** The worker command line, run in its own group with the share markers and `<workDir>/<what>.log` as output. */
  command(): { args: string[]; stdin?: 'ignore' | 'pipe' };
  /** Resolves once ready with the links and the arguments of a client command (run with `bin`) that answers only while the worker does; throws a TetherError when not ready by `deadline` or the group died. */
  ready(group: ProcessGroup, deadline: number): Promise<{ links: ShareLinks; probeArgs: string[] }>;
  bin: string;
}

/**
 * What both adapters do around their backend-specific parts: the terminal must exist, the worker is
 * started, and whatever goes wrong before it is ready stops the whole group (never the tmux terminal).
 */
export async function launchWorker(spec: BackendStartSpec, launch: Launch): Promise<RunningShareWorker> {
  privateDir(spec.workDir);
  const has = await runBounded('tmux', ['-S', spec.tmuxSocket, 'has-session', '-t', `=${spec.terminalId}`], 5_000);
  if (!has.ok)
    throw backendFailed(`cannot share terminal ${spec.terminalId}: no tmux session of that name on ${spec.tmuxSocket}`);
  const { args, stdin } = launch.command();
  const env = { ...spec.env, TETHER_SHARE_ID: spec.shareId };
  const group = spawnGroup(launch.bin, args, {
    env,
    logFile: join(spec.workDir, `${launch.what}.log`),
    cwd: spec.workDir,
    stdin,
    markerName: WORKER_MARKER,
    redact: redactSessionStrings,
  });
  try {
    const { links, probeArgs } = await launch.ready(
      group,
      Date.now() + (spec.readyTimeoutMs || DEFAULT_READY_TIMEOUT_MS),
    );
    return runningWorker(group, links, launch.bin, probeArgs, launch.what);
  } catch (err) {
    await stopGroup(group);
    throw err;
  }
}

/** Throws BACKEND_FAILED (with what the worker printed last) once the group leader has exited. */
export async function failIfExited(group: ProcessGroup, what: string): Promise<void> {
  if (group.alive()) return;
  const exit = await group.exited;
  const said = group.logTail();
  throw backendFailed(`${what} exited (${describeExit(exit)}) before it was ready${said ? `: ${said}` : ''}`);
}

/**
 * Repeats `attempt` (given the ms left) until it yields a value: BACKEND_FAILED as soon as the worker
 * has exited, `timeout()` at the deadline. Each attempt must itself be bounded by the ms it is given.
 */
export async function untilReady<T>(
  group: ProcessGroup,
  what: string,
  deadline: number,
  timeout: () => Error,
  attempt: (leftMs: number) => Promise<T | undefined>,
  pauseMs = 50,
): Promise<T> {
  for (;;) {
    await failIfExited(group, what);
    const left = deadline - Date.now();
    if (left <= 0) throw timeout();
    const value = await attempt(left);
    if (value !== undefined) return value;
    await sleep(pauseMs);
  }
}
