import { isLiveTerminal } from '@tether/machines';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { subjects, type StoredEvent } from '@tether/contracts';
import { listActorsOf, readActor } from '@tether/projector';
import {
  CorrelationOrigins,
  ProcessManager,
  outcomeOf,
  privateDir,
  privateFile,
  processesMarked,
  terminate,
  TETHER_OWN_VARIABLES,
  type ActorHost,
  type EventStore,
  type Logger,
  type Send,
  type Subscription,
} from '@tether/runtime';
import { OutputTail } from './output-tail.ts';
import { showStatusLine } from './status-line.ts';
import type { TerminalIO, TerminalResize } from './terminal-io.ts';
import { Tmux, signalName } from './tmux.ts';

export interface TerminalWorkerOptions {
  /** Folder for tmux's socket and the pane output logs (made 0700, the logs 0600: they hold what terminals printed). */
  dir: string;
  /** Marks every process tether starts, so orphans can be found by scanning /proc. */
  ownerId: string;
  /** The command line each terminal runs (TETHER_SHELL). */
  shell: string;
  /** Output above this rate throttles the terminal (bytes per second). */
  maxBytesPerSec?: number;
  /** Input from someone other than the terminal's session (a share participant): allowed only if this says so. */
  mayWrite?: (terminalId: string, from: string) => Promise<boolean> | boolean;
  /** The task runs' tmux socket: a run's terminal attaches a client to its run's session there instead of a shell. */
  taskSocket?: string;
  /** Told when a relayed terminal prints (the checkpointer samples it then) and when it ends. */
  activity?: { printed(terminalId: string): void; ended(terminalId: string): void };
  /** Where a `tether` command run in the terminal finds this tether (TETHER_URL, TETHER_HOME): `tether share` there. */
  cliEnv?: () => Record<string, string>;
}

/** What a respawn restores: the checkpoint's cwd and environment, and its scrollback shown first. */
export interface RespawnFrom {
  cwd: string;
  env: Record<string, string>;
  scrollback: Uint8Array;
  /** When the checkpoint was taken (null: none; the shell starts in the lane's worktree). */
  takenAt: string | null;
}

type Handover = { handoffId: string; fromSessionId: string; toSessionId: string };
type Spawn = { laneId: string; sessionId: string; taskRunId?: string };

const SCROLLBACK_BYTES = 64 * 1024;
const MAX_QUEUED_INPUT = 1_000;
/** Input held while an operator has taken a task run over: past this, the oldest is dropped. */
const MAX_HELD_INPUT = 10_000;
/** A participant's write check that takes longer than this counts as "no". */
const WRITE_CHECK_MS = 3_000;

const DROPPED = new Set<string>([...TETHER_OWN_VARIABLES, 'TMUX', 'TMUX_PANE']);

/** tether's own markers, set anew for the respawned shell (a checkpoint's may name an older installation). */
function withoutMarkers(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (!DROPPED.has(k)) out[k] = v;
  return out;
}

/** `export NAME='value'` lines a POSIX shell sources exactly (names that are no shell identifier are left out). */
function shellExports(env: Record<string, string>): string {
  return Object.entries(env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}

async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer); // one check per keystroke batch: no timer may outlive its check
  }
}

interface Relay {
  tail: OutputTail;
  stopInput: () => void;
  stopScrollback: () => void;
  stopWriter: () => void;
  stopResize: () => void;
  stopSize: () => void;
  /** The window's size as last published or seen (undefined until the first look). */
  size?: { cols: number; rows: number };
  /** Writers' resizes started, and those under way: a size listed meanwhile proves nothing. */
  resizes: number;
  resizing: number;
  /** Input (and writers' sizes) in arrival order, each batch after the previous one's write check and delivery. */
  input: Promise<void>;
  queued: number;
  sessionId: string;
  window: { start: number; bytes: number };
  throttled: boolean;
  calmSince?: number;
}

/**
 * Terminals' effects: spawns the shell in tmux inside the lane's worktree, relays its output and
 * the writer's input over TerminalIO, throttles floods, notices exits, and kills the process group
 * on close.
 */
export class TerminalWorker {
  readonly tmux: Tmux;
  private readonly pm: ProcessManager;
  private readonly origins: CorrelationOrigins;
  private readonly relays = new Map<string, Relay>();
  private readonly statusWaits = new Map<string, number>();
  /** Terminals whose writer's input is held (a task run taken over), with that input in arrival order. */
  private readonly holds = new Map<string, string[]>();
  private sub?: Subscription;
  private poll?: NodeJS.Timeout;

  constructor(
    private readonly store: EventStore,
    private readonly host: ActorHost,
    send: Send,
    private readonly io: TerminalIO,
    log: Logger,
    private opts: TerminalWorkerOptions,
  ) {
    privateDir(opts.dir);
    privateDir(join(opts.dir, 'logs'));
    this.tmux = new Tmux(join(opts.dir, 'tmux.sock'));
    this.pm = new ProcessManager('terminals', send, log);
    this.origins = new CorrelationOrigins(store);
  }

  async start(): Promise<void> {
    await this.reattach();
    this.sub = await this.pm.subscribe(this.store, subjects.entityEvents('terminal'), (e) => this.handle(e));
    this.poll = setInterval(
      () => void this.watchExits().catch((err) => this.pm.log.warn({ err: String(err) }, 'exit check failed')),
      500,
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    await this.sub?.stop();
    for (const id of [...this.relays.keys()]) this.detach(id);
  }

  /** Everything the terminal printed, appended by tmux (the checkpointer reads its tail). */
  logFile = (id: string) => join(this.opts.dir, 'logs', `${id}.log`);
  private statusFile = (id: string) => join(this.opts.dir, 'logs', `${id}.exit`);

  /** How the shell ended: its wrapper's status file first, tmux's record second. */
  private exitOf(
    id: string,
    tmux: { code: number | null; signal: string | null },
  ): { code: number | null; signal: string | null } {
    try {
      const s = Number(readFileSync(this.statusFile(id), 'utf8'));
      if (Number.isInteger(s)) return s > 128 ? { code: null, signal: signalName(s - 128) } : { code: s, signal: null };
    } catch {
      /* not written (yet) */
    }
    return tmux;
  }

  private async handle(e: StoredEvent): Promise<void> {
    const id = e.event.entityId;
    if (e.event.type === 'terminal.spawn') return this.spawn(e, id, e.event.data as Spawn);
    if (e.event.type === 'terminal.close') return this.kill(id);
    if (e.event.type === 'terminal.handover') return this.handOver(e, id, e.event.data as Handover);
  }

  /** The relay's writer, read again from the persisted terminal (the one truth, whoever asks). */
  private async refreshWriter(id: string, relay: Relay): Promise<string> {
    const writer = (await readActor(this.host, 'terminal', id))?.context.sessionId;
    if (writer) relay.sessionId = writer;
    return relay.sessionId;
  }

  /**
   * The keyboard changes hands: the process relaying the terminal (this one, or another tether host
   * on the NATS, asked on tether.term.<id>.writer) reads the writer again, so from now on it takes input
   * only from the receiver's session (the old writer's input still queued is refused too, as it is
   * delivered), while the old writer keeps getting the output like every watcher. Then the handoff
   * hears it is complete. A terminal nobody relays picks the new writer up when it is attached again.
   */
  private async handOver(e: StoredEvent, id: string, h: Handover): Promise<void> {
    const relay = this.relays.get(id);
    const writer = relay ? await this.refreshWriter(id, relay) : await this.io.refreshWriter(id);
    this.pm.log.info(
      { terminalId: id, handoffId: h.handoffId, correlationId: e.event.correlationId, relayed: writer !== undefined },
      'terminal handed over: the writer session changed',
    );
    await this.pm.report(e.event, 'handoff', 'completed', h.handoffId, {
      terminalId: id,
      fromSessionId: h.fromSessionId,
      toSessionId: h.toSessionId,
    });
  }

  /** The shell in tmux, then the report: only a shell that could not be started is spawnFailed (see outcomeOf). */
  private async spawn(e: StoredEvent, id: string, data: Spawn): Promise<void> {
    const started = await outcomeOf(async () => {
      const cwd = (await readActor(this.host, 'lane', data.laneId))?.context.worktreePath;
      if (!cwd) throw new Error(`lane ${data.laneId} has no worktree`);
      if (!(await this.tmux.hasSession(id))) {
        await this.tmux.newSession(id, cwd, this.markers(id, data.laneId), this.commandOf(data), this.statusFile(id));
      }
      privateFile(this.logFile(id)); // before tmux's `cat >>` makes it under tmux's umask
      this.attach(id, data.sessionId, false);
      await this.tmux.pipeOutput(id, this.logFile(id));
      await this.io.settled(); // input typed the moment the spawn is answered must not be lost
      return { tmuxSession: id, panePid: await this.tmux.panePid(id), installationId: this.opts.ownerId };
    });
    if (started.ok) {
      await this.pm.report(e.event, 'terminal', 'started', id, started.value);
      this.opts.activity?.printed(id); // a first checkpoint, even of a terminal that prints nothing yet
    } else await this.pm.report(e.event, 'terminal', 'spawnFailed', id, { reason: started.reason });
  }

  /** Who hears of terminals printing and ending (the checkpointer); set once at start. */
  setActivity(activity: NonNullable<TerminalWorkerOptions['activity']>): void {
    this.opts.activity = activity;
  }

  /** A recovery run's reattach of a terminal whose tmux session it saw: relayed again (if it is not already). */
  relayAgain(id: string, sessionId: string): void {
    this.attach(id, sessionId, true);
  }

  /**
   * A recovery run's respawn of a terminal whose tmux session is gone: a new shell in the checkpoint's cwd
   * with its environment (tether's markers set anew), its saved scrollback printed first under a
   * "restored from" line. Throws `cwd_missing: …` when the folder is gone. Returns the new pane's pid.
   */
  async respawn(id: string, laneId: string, sessionId: string, from: RespawnFrom): Promise<number> {
    if (!existsSync(from.cwd) || !statSync(from.cwd).isDirectory())
      throw new Error(`cwd_missing: ${from.cwd} does not exist any more`);
    if (await this.tmux.hasSession(id)) {
      // Respawned before a crash interrupted the run: it only needs relaying again.
      this.attach(id, sessionId, true);
      return this.tmux.panePid(id);
    }
    const prelude = join(this.opts.dir, 'logs', `${id}.restore.tmp`);
    const header = `\r\n\x1b[7m tether: restored from ${from.takenAt ?? 'no checkpoint'} (the shell before it ended in a crash) \x1b[0m\r\n`;
    writeFileSync(prelude, Buffer.concat([Buffer.from(from.scrollback), Buffer.from(header)]), { mode: 0o600 });
    rmSync(this.statusFile(id), { force: true }); // the old shell's status is not the new one's
    this.statusWaits.delete(id);
    const envFile = join(this.opts.dir, 'logs', `${id}.env.tmp`); // a crash before the shell sources it: swept as a temp file
    writeFileSync(envFile, shellExports(withoutMarkers(from.env)), { mode: 0o600 });
    privateFile(this.logFile(id));
    // A task run's terminal shows its run's session again (still alive on the task socket, or ended with its run).
    const taskRunId = (await readActor(this.host, 'terminal', id))?.context.taskRunId;
    const command = this.commandOf({ laneId, sessionId, ...(taskRunId ? { taskRunId } : {}) });
    await this.tmux.newSession(id, from.cwd, this.markers(id, laneId), command, this.statusFile(id), {
      prelude,
      envFile,
    });
    await this.tmux.pipeOutput(id, this.logFile(id));
    this.attach(id, sessionId, true);
    await this.io.settled();
    await this.tmux.releasePrelude(id);
    return this.tmux.panePid(id);
  }

  /**
   * The shell, or for a task run's terminal a tmux client attached to the run's session on the task
   * socket (TMUX unset: it is no nested session of ours), so viewers see the run's four panes.
   */
  private commandOf(data: Spawn): string {
    if (!data.taskRunId) return this.opts.shell;
    if (!this.opts.taskSocket) throw new Error('this tether runs no task runs (no task socket)');
    const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
    return `env -u TMUX tmux -S ${q(this.opts.taskSocket)} attach-session -t ${q(`=${data.taskRunId}`)}`;
  }

  /**
   * Holds the writer session's input to a terminal (an operator took its task run over): it is queued,
   * not delivered, until `unhold`. Input from a participant with a write grant still goes through.
   */
  hold(id: string): void {
    if (!this.holds.has(id)) this.holds.set(id, []);
  }

  /** Delivers the held input, in order, and lets the writer's input through again. */
  async unhold(id: string): Promise<void> {
    const held = this.holds.get(id);
    if (!held) return;
    const flush = async () => {
      this.holds.delete(id);
      const data = held.join('');
      if (data)
        await this.tmux
          .sendBytes(id, new TextEncoder().encode(data))
          .catch((err) => this.pm.log.warn({ terminalId: id, err: String(err) }, 'held input not delivered'));
    };
    // In the relay's input order: what was typed before the release is delivered before what comes after it.
    const relay = this.relays.get(id);
    if (!relay) return flush();
    relay.input = relay.input.then(flush);
    await relay.input;
  }

  /**
   * Shows `format` (a tmux format) in the terminal's tmux status line, seen by whoever is attached to its
   * tmux session (`tether terminal attach`, a tmate/upterm share's client); undefined puts back what it
   * showed before. A terminal whose session is not on this host's tmux (closed, or run by another tether)
   * is left alone.
   */
  async showStatus(id: string, format: string | undefined): Promise<void> {
    if (!(await this.tmux.hasSession(id))) return;
    await showStatusLine(this.tmux, id, format);
  }

  private markers = (id: string, laneId: string) => ({
    ...this.opts.cliEnv?.(),
    TETHER_OWNER: this.opts.ownerId,
    TETHER_TERMINAL_ID: id,
    TETHER_LANE_ID: laneId,
  });

  /** Relays a running terminal: output and scrollback to viewers, the writer's input to the pane. */
  private attach(id: string, sessionId: string, fromEnd: boolean) {
    if (this.relays.has(id)) return;
    const relay: Relay = {
      sessionId,
      throttled: false,
      window: { start: Date.now(), bytes: 0 },
      tail: new OutputTail(this.logFile(id), (chunk) => this.onOutput(id, relay, chunk), fromEnd),
      input: Promise.resolve(),
      queued: 0,
      resizes: 0,
      resizing: 0,
      stopInput: this.io.onInput(id, (msg) =>
        this.enqueue(id, relay, msg.from, () => this.deliver(id, relay, msg.data, msg.from)),
      ),
      // A size goes in the same queue as keystrokes, so keys typed after a resize are drawn at the new size.
      stopResize: this.io.onResize(id, (msg) => this.enqueue(id, relay, msg.from, () => this.resize(id, relay, msg))),
      stopScrollback: this.io.serveScrollback(id, () => this.scrollback(id, relay)),
      stopWriter: this.io.serveWriterRefresh(id, () => this.refreshWriter(id, relay)),
      stopSize: this.io.serveSize(id, () => this.tmux.size(id)),
    };
    relay.tail.start();
    this.relays.set(id, relay);
    // Sessions made before tether kept their size get the option too (newSession sets it on new ones).
    void this.tmux
      .keepSize(id)
      .catch((err) => this.pm.log.warn({ terminalId: id, err: String(err) }, 'window-size not set'));
  }

  /** Bounded: a flood (or a stuck check) drops input with a warning instead of growing memory. */
  private enqueue(id: string, relay: Relay, from: string, task: () => Promise<void>) {
    if (relay.queued >= MAX_QUEUED_INPUT)
      return void this.pm.log.warn({ terminalId: id, from }, 'input dropped: too much queued');
    relay.queued++;
    relay.input = relay.input.then(task).finally(() => relay.queued--);
  }

  /** The terminal's session types; anyone else (a share participant) only while a check says so, asked now. */
  private async mayType(id: string, relay: Relay, from: string): Promise<boolean> {
    if (from === relay.sessionId) return true;
    return (await withTimeout(Promise.resolve(this.opts.mayWrite?.(id, from)), WRITE_CHECK_MS, false)) === true;
  }

  /** A writer's size: the window takes it and every relay is told the size it now has. */
  private async resize(id: string, relay: Relay, msg: TerminalResize) {
    try {
      if (this.relays.get(id) !== relay) return;
      if (!(await this.mayType(id, relay, msg.from)))
        return void this.pm.log.debug({ terminalId: id, from: msg.from }, 'size from a non-writer dropped');
      relay.resizes++;
      relay.resizing++;
      await this.resizeNow(id, relay, msg).finally(() => relay.resizing--);
    } catch (err) {
      this.pm.log.warn({ terminalId: id, err: String(err) }, 'terminal not resized');
    }
  }

  private async resizeNow(id: string, relay: Relay, msg: TerminalResize) {
    const was = await this.tmux.size(id);
    if (was.cols === msg.cols && was.rows === msg.rows && was.by === msg.by) return;
    // In output order: what the pane printed so far goes out first, then the size, then (after the
    // resize) the program's redraw, so viewers draw each at the size it was made for.
    relay.tail.drain();
    this.io.publishSize(id, { cols: msg.cols, rows: msg.rows, by: msg.by });
    await this.tmux.resize(id, msg.cols, msg.rows, msg.by);
    const now = await this.tmux.size(id);
    relay.size = { cols: now.cols, rows: now.rows };
    if (now.cols !== msg.cols || now.rows !== msg.rows) this.io.publishSize(id, now); // tmux would not take it
  }

  /**
   * The window changed size without a writer asking (someone at the machine ran `tmux resize-window`):
   * it is the owner's size now, and relays are told.
   */
  private async noticeSize(id: string, relay: Relay, seen: { cols: number; rows: number } | undefined) {
    if (!seen) return;
    const was = relay.size;
    relay.size = seen;
    if (!was || (was.cols === seen.cols && was.rows === seen.rows)) return;
    this.io.publishSize(id, { ...seen, by: 'owner' });
    await this.tmux.sizedBy(id, 'owner');
  }

  private async deliver(id: string, relay: Relay, data: string, from: string) {
    try {
      if (this.relays.get(id) !== relay) return; // closed while this waited its turn
      if (!(await this.mayType(id, relay, from))) {
        return void this.pm.log.debug({ terminalId: id, from }, 'input from a non-writer dropped');
      }
      const held = from === relay.sessionId ? this.holds.get(id) : undefined;
      if (held) {
        if (held.length >= MAX_HELD_INPUT) held.shift();
        return void held.push(data);
      }
      await this.tmux.sendBytes(id, new TextEncoder().encode(data));
    } catch (err) {
      this.pm.log.warn({ terminalId: id, err: String(err) }, 'input not delivered');
    }
  }

  /** The last 64 KiB the terminal printed, cut at the offset its next published chunk starts from. */
  private scrollback(id: string, relay: Relay) {
    relay.tail.drain();
    const offset = relay.tail.offset;
    const start = Math.max(0, offset - SCROLLBACK_BYTES);
    const data = Buffer.alloc(offset - start);
    const fd = openSync(this.logFile(id), 'r');
    try {
      readSync(fd, data, 0, data.length, start);
    } finally {
      closeSync(fd);
    }
    return { data, offset };
  }

  private onOutput(id: string, relay: Relay, chunk: Uint8Array) {
    const now = Date.now();
    if (now - relay.window.start >= 1_000) relay.window = { start: now, bytes: 0 };
    relay.window.bytes += chunk.length;
    const limit = this.opts.maxBytesPerSec ?? 2_000_000;
    if (!relay.throttled && relay.window.bytes > limit) {
      relay.throttled = true;
      void this.reportSelf(id, 'throttle', { bytesPerSec: relay.window.bytes });
    }
    this.opts.activity?.printed(id);
    // While throttled, output stays in the log only; viewers get live output again once it calms down.
    if (relay.throttled) relay.calmSince = undefined;
    else this.io.publishOutput(id, chunk, relay.tail.offset);
  }

  /** A throttled terminal quiet (under half the limit) for 2 s is unthrottled; runs on the worker's tick. */
  private checkCalm(now: number) {
    const limit = this.opts.maxBytesPerSec ?? 2_000_000;
    for (const [id, relay] of this.relays) {
      if (!relay.throttled) continue;
      if (now - relay.window.start >= 1_000) relay.window = { start: now, bytes: 0 };
      if (relay.window.bytes < limit / 2) relay.calmSince ??= now;
      if (relay.calmSince !== undefined && now - relay.calmSince >= 2_000) {
        relay.throttled = false;
        relay.calmSince = undefined;
        void this.reportSelf(id, 'unthrottle', {});
      }
    }
  }

  /** A report about terminal `id` continues the terminal's flow (its first event's correlation id). */
  private cause = async (id: string, causeId: string) => ({
    id: causeId,
    correlationId: await this.origins.of('terminal', id, `terminal-${id}`),
  });

  private async reportSelf(id: string, verb: string, data: Record<string, unknown>) {
    const cause = await this.cause(id, `${verb}-${id}-${Date.now()}`);
    await this.pm
      .report(cause, 'terminal', verb, id, data)
      .catch((err) => this.pm.log.warn({ terminalId: id, err: String(err) }, `${verb} not recorded`));
  }

  private detach(id: string) {
    const r = this.relays.get(id);
    if (!r) return;
    r.tail.stop();
    r.tail.drain();
    r.stopInput();
    r.stopScrollback();
    r.stopWriter();
    r.stopResize();
    r.stopSize();
    this.relays.delete(id);
  }

  /**
   * Hangup + SIGTERM to the shell's process group while tmux still holds the pane (so its pid cannot
   * have been reused), then to every process marked with this terminal (an interactive shell puts
   * background jobs in groups of their own); SIGKILL to what is left after 3 s. Only the marker is
   * trusted after the first signal: pids are reused quickly (pid_max may be 32768).
   */
  private async kill(id: string): Promise<void> {
    this.detach(id);
    this.opts.activity?.ended(id);
    await terminate({
      marked: () => processesMarked('TETHER_TERMINAL_ID', id),
      groups: async () => {
        const live = (await this.tmux.hasSession(id)) && !(await this.tmux.deadPanes()).has(id);
        const pane = live ? await this.tmux.panePid(id).catch(() => 0) : 0;
        return pane > 0 ? [-pane] : [];
      },
      signals: ['SIGHUP', 'SIGTERM'], // a closing terminal is a hangup; interactive shells ignore SIGTERM
    });
    await this.tmux.killSession(id);
  }

  private async watchExits(): Promise<void> {
    if (this.relays.size === 0) return;
    this.checkCalm(Date.now());
    // Resizes started by the time the listing comes, per terminal (-1: one was under way).
    const before = new Map([...this.relays].map(([id, r]) => [id, r.resizing > 0 ? -1 : r.resizes]));
    const { dead, sizes } = await this.tmux.panes();
    for (const [id, relay] of this.relays)
      if (!dead.has(id) && before.get(id) === relay.resizes && relay.resizing === 0)
        await this.noticeSize(id, relay, sizes.get(id)).catch((err) =>
          this.pm.log.warn({ terminalId: id, err: String(err) }, 'size change not told'),
        );
    for (const id of [...this.relays.keys()]) {
      if (!dead.has(id)) continue;
      const { code, signal } = this.exitOf(id, dead.get(id)!);
      // tmux marks a pane dead when its pty closes, which can be before it reaps the shell and
      // records how it ended: wait up to 10 s before calling it unknown.
      const waited = this.statusWaits.get(id) ?? 0;
      if (code === null && signal === null && waited < 20) {
        this.statusWaits.set(id, waited + 1);
        continue;
      }
      // Reported before the relay goes: a report that cannot be sent now is sent again on the next tick.
      await this.pm.report(await this.cause(id, `exit-${id}`), 'terminal', 'exited', id, { code, signal });
      this.statusWaits.delete(id);
      this.detach(id);
      this.opts.activity?.ended(id);
      await this.tmux.killSession(id);
    }
  }

  /** After a restart of tether: relay again every terminal whose tmux session survived. */
  private async reattach(): Promise<void> {
    const alive = new Set(await this.tmux.listSessions()); // one listing, however many terminals
    for (const doc of await listActorsOf(this.store, 'terminal', (a) => isLiveTerminal(a.value))) {
      if (alive.has(doc.entityId)) this.attach(doc.entityId, doc.context.sessionId, true);
    }
  }
}
