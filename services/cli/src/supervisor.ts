import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import {
  type ErrorCode,
  parseConfig,
  PREVIOUS_EXIT_ENV,
  type PreviousExit,
  SupervisorMessage,
} from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
// The logger alone: the supervisor loads none of the store, NATS or actor code.
import { createLogger, logFormat } from '@tether/runtime/logger';
import { dataDir } from './data-dir.ts';
import { claimSupervisor } from './run-state.ts';

/** After a crash the next server starts this soon, twice as late per crash within CRASH_WINDOW_MS of the last, at most MAX_DELAY_MS. */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;
const CRASH_WINDOW_MS = 10_000;
/** Servers in a row that die before they listen: then the cause is not passing, and the supervisor gives up. */
const MAX_FAILED_STARTS = 5;
/** Until its first heartbeat a server is loading its code; on a busy machine that is slow, not hung. */
const FIRST_HEARTBEAT_MS = 30_000;
const HEARTBEAT_EVERY_MS = 1_000;
/** Start errors no restart mends: a bad setting or flag, a busy port or data folder. */
const FINAL: ReadonlySet<ErrorCode> = new Set(['INVALID_CONFIG', 'INVALID_COMMAND', 'UNAVAILABLE']);
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How one server ended, as the supervisor saw it. */
interface Ended {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  reason: PreviousExit['reason'];
  ready: boolean;
  failed?: ErrorCode;
}

/**
 * `tether up` (without --no-supervise): runs the server as a child (`tether up --no-supervise`, in a
 * process group of its own) and starts it again when it crashes or stops sending heartbeats. The
 * supervisor holds no store, no NATS connection and not the data folder's run claim (the server does).
 */
export async function supervise(): Promise<number> {
  // A bad setting stops here, before any server starts: it would fail the same way every time.
  const { config } = parseConfig(process.env);
  const log = createLogger('tether-supervisor', config.TETHER_LOG_LEVEL, logFormat(config.TETHER_LOG_FORMAT));
  const timeoutMs = config.TETHER_SUPERVISOR_TIMEOUT_MS;
  const claim = claimSupervisor(dataDir());
  const release = () => claim.release();
  process.once('exit', release);

  let stopping: NodeJS.Signals | undefined;
  let current: ChildProcess | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    stopping = sig;
    // The server stops cleanly; a second signal ends it at once. Never a pid node has reaped (it may be reused).
    if (current && current.exitCode === null && current.signalCode === null) kill(current.pid!, sig);
    wake?.();
  };
  for (const s of SIGNALS) process.on(s, onSignal);

  try {
    let previous: PreviousExit | undefined;
    let failedStarts = 0;
    let lastCrash = Number.NEGATIVE_INFINITY;
    let delay = FIRST_DELAY_MS;
    for (;;) {
      current = startServer(previous);
      const end = await watch(current, timeoutMs);
      current = undefined;
      // A server still loading has no handler yet: the passed-on signal ends it, as asked, with nothing open.
      if (stopping) return end.signal === stopping ? 0 : (end.code ?? 1);
      if (end.reason === 'exited' && end.code === 0) return 0; // stopped cleanly (`tether down`, a signal to it)
      if (!end.ready) {
        // It printed its error; a restart would print it again.
        if (end.failed && FINAL.has(end.failed)) return end.code || 1;
        if (++failedStarts >= MAX_FAILED_STARTS)
          throw new TetherError(
            'UNAVAILABLE',
            `the tether server died ${MAX_FAILED_STARTS} times in a row before it listened (last: ${end.signal ?? `exit code ${end.code}`}); see its errors above, mend the cause and run \`tether up\` again`,
          );
      } else failedStarts = 0;
      previous = { pid: end.pid, code: end.code, signal: end.signal, reason: end.reason, at: new Date().toISOString() };
      const now = performance.now();
      delay = now - lastCrash < CRASH_WINDOW_MS ? Math.min(delay * 2, MAX_DELAY_MS) : FIRST_DELAY_MS;
      lastCrash = now;
      log.error({ exit: previous, restartInMs: delay }, 'server crashed; restarting');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (stopping) return 0; // stopped between two servers: none runs
    }
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', release);
    release();
  }
}

const kill = (target: number, sig: NodeJS.Signals) => {
  try {
    process.kill(target, sig);
  } catch {
    /* gone already */
  }
};

/** The server: this CLI with the same arguments plus --no-supervise, the same environment, and an IPC channel. */
function startServer(previous: PreviousExit | undefined): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, TETHER_SUPERVISED: '1' };
  delete env[PREVIOUS_EXIT_ENV];
  if (previous) env[PREVIOUS_EXIT_ENV] = JSON.stringify(previous);
  return spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2), '--no-supervise'], {
    env,
    // A group of its own: Ctrl-C reaches the supervisor only, which passes it on once; a hung server's group is killed whole.
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
}

/** Follows one server until it is gone: its messages, and its heartbeats against `timeoutMs`. */
function watch(child: ChildProcess, timeoutMs: number): Promise<Ended> {
  const pid = child.pid ?? 0;
  let ready = false;
  let failed: ErrorCode | undefined;
  let reason: Ended['reason'] = 'exited';
  let lastBeat = performance.now();
  let allowed = FIRST_HEARTBEAT_MS;
  child.on('message', (raw) => {
    const m = SupervisorMessage.safeParse(raw);
    if (!m.success) return;
    lastBeat = performance.now();
    allowed = timeoutMs;
    if (m.data.type === 'ready') ready = true;
    if (m.data.type === 'failed') failed = m.data.code;
  });
  const overdue = () => performance.now() - lastBeat > allowed;
  const check = setInterval(
    () => {
      // Heartbeats may wait unread in the pipe after a stall of this process: look again after its I/O.
      if (overdue())
        setImmediate(() => {
          if (!overdue() || reason === 'heartbeat' || child.exitCode !== null || child.signalCode !== null) return;
          reason = 'heartbeat';
          kill(-pid, 'SIGKILL'); // the group: what the hung server started goes with it
        });
    },
    Math.min(HEARTBEAT_EVERY_MS, timeoutMs / 4),
  );
  return new Promise((resolve) => {
    const done = (code: number | null, sig: NodeJS.Signals | null) => {
      clearInterval(check);
      resolve({ pid, code, signal: sig, reason, ready, failed });
    };
    // 'close', not 'exit': it comes after the IPC channel is drained, so a last 'failed' message is read.
    child.once('close', done);
    child.once('error', () => child.pid === undefined && done(null, null)); // could not spawn at all
  });
}

/**
 * The server's side, when a supervisor started it: heartbeats from now on, `ready` once it listens,
 * `failed` with the error of a failed start. Undefined when no supervisor runs it.
 */
export function supervisorLink() {
  if (!process.send || process.env.TETHER_SUPERVISED !== '1') return undefined;
  process.channel?.unref(); // the channel must not keep a stopped server alive
  const send = (m: SupervisorMessage) =>
    new Promise<void>((resolve) => {
      // A supervisor that was killed leaves this server running; it just has nobody to tell.
      if (!process.connected) return resolve();
      process.send!(m, undefined, undefined, () => resolve());
    });
  void send({ type: 'heartbeat' });
  const beat = setInterval(() => void send({ type: 'heartbeat' }), HEARTBEAT_EVERY_MS);
  beat.unref();
  return {
    ready: () => void send({ type: 'ready', pid: process.pid }),
    failed: (err: unknown) => send({ type: 'failed', code: err instanceof TetherError ? err.code : 'INTERNAL' }),
    stop: () => clearInterval(beat),
  };
}
