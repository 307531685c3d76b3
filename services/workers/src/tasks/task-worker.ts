import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  actorRef,
  subjects,
  taskSubjects,
  type EventEnvelope,
  type OperatorMessage,
  type StoredEvent,
} from '@tether/contracts';
import { hasLiveAgent, isEndedTaskRun } from '@tether/machines';
import { actorOf, listActorsOf, readActor, type ActorOf } from '@tether/projector';
import {
  ProcessManager,
  outcomeOf,
  processesMarked,
  procStat,
  settled,
  signal,
  terminate,
  type ActorHost,
  type Cause,
  type EventStore,
  type Logger,
  type Send,
  type Subscription,
  type TerminalAccess,
} from '@tether/runtime';
import { signalName } from '../terminals/tmux.ts';
import { TaskFiles, taskTmuxSocket } from './task-files.ts';
import { TaskLayout, type PaneInfo } from './task-layout.ts';

export interface TaskWorkerDeps {
  store: EventStore;
  host: ActorHost;
  send: Send;
  log: Logger;
  home: string;
  ownerId: string;
  /** The operator shell pane's command line (TETHER_SHELL). */
  shell: string;
  /** Holds and lets go of the writer's input to a run's terminal (takeover, release). */
  terminals: Pick<TerminalAccess, 'hold' | 'unhold'>;
  /** Publishes on core NATS (tether.task.<id>.inbox); absent with the embedded store. */
  publish?: (subject: string, payload: string) => void;
}

type Run = ActorOf<'taskRun'>;

/** How long a run's terminal has to start, and a hard pause to show in /proc. */
const TERMINAL_START_MS = 30_000;
const HARD_STOP_MS = 5_000;
/** tmux may mark the agent's pane dead before its wrapper's status file is there: up to 10 s of ticks. */
const STATUS_WAIT_TICKS = 20;
/** What a watcher sees of the ended run before its session goes. */
const LINGER_MS = 1_000;

/**
 * A task run's effects after persistence (seed 002): its folder and its four-pane tmux session on the
 * task socket, its terminal, the agent let go once the terminal relays it; the controls (control file,
 * SIGSTOP/SIGCONT of the agent's process group, input held during a takeover, SIGTERM then SIGKILL on
 * cancel); operator messages to the inbox file and tether.task.<id>.inbox; the agent's exit. Every
 * handler acts on the run's state now, so a redelivered event does nothing stale.
 */
export class TaskWorker {
  readonly layout: TaskLayout;
  private readonly pm: ProcessManager;
  private sub?: Subscription;
  private poll?: NodeJS.Timeout;
  /** Runs whose agent may be running: their exits are watched. */
  private readonly watched = new Map<string, { statusWaits: number }>();
  private retryRecover?: NodeJS.Timeout;
  /** Runs being stopped or finished: awaited by stop(), never by the next event (see inBackground). */
  private readonly ending = new Map<string, Promise<unknown>>();
  /** Soft pauses waiting for the agent's ack: run id → control seq, and a watch on the run's folder. */
  private readonly acks = new Map<string, { seq: number; correlationId: string; watcher?: FSWatcher }>();
  /** Task-log lines already written for these events (a redelivery writes none again). */
  private readonly logged = new Set<string>();
  private ticking = false;

  constructor(private readonly deps: TaskWorkerDeps) {
    // Its own subscription per installation: a run's agent and tmux server are on the tether that queued it,
    // so every tether hears every run and acts on its own only (another's would look lost from here).
    this.pm = new ProcessManager(`tasks-${deps.ownerId}`, deps.send, deps.log);
    this.layout = new TaskLayout(taskTmuxSocket(deps.home), { ownerId: deps.ownerId, shell: deps.shell });
  }

  async start(): Promise<void> {
    await this.recoverOrRetry();
    this.sub = await this.pm.subscribe(this.deps.store, subjects.entityEvents('taskRun'), (e) => this.handle(e));
    this.poll = setInterval(() => void this.tick(), 500);
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    clearTimeout(this.retryRecover);
    await this.sub?.stop();
    await Promise.all(this.ending.values());
    for (const a of this.acks.values()) a.watcher?.close();
    this.acks.clear();
  }

  files = (runId: string) => new TaskFiles(this.deps.home, runId);
  private run = (id: string) => readActor(this.deps.host, 'taskRun', id);

  private async handle({ event: ev }: StoredEvent): Promise<void> {
    const run = await this.run(ev.entityId);
    if (!run || run.context.installationId !== this.deps.ownerId) return;
    const cause = { id: ev.id, correlationId: run.context.correlationId || ev.correlationId };
    const verb = ev.type.slice(ev.type.indexOf('.') + 1);
    this.logEvent(ev, run, verb);
    if (verb === 'queue') await this.launch(cause, run);
    else if (verb === 'started') this.watch(run.entityId);
    else if (verb === 'message') await this.deliverMessage(run, ev, (ev.data as { message: string }).message);
    else if (verb === 'release') await this.release(run, ev);
    else if (['pause', 'takeover', 'resume', 'cancel'].includes(verb)) await this.control(cause, run, ev);
    if (isEndedTaskRun(run.value)) this.inBackground(`finish ${run.entityId}`, () => this.finish(cause, run));
  }

  /**
   * Work for one run that may wait (a group's 3 s grace, the layout lingering) goes on beside the events of
   * every other run, once per `what`; stop() waits for it. Nothing of that run follows it (it is cancelling or ended).
   */
  private inBackground(what: string, work: () => Promise<unknown>): void {
    if (this.ending.has(what)) return; // a redelivered event: the same work is under way
    const p = work()
      .catch((err) => this.pm.log.warn({ err: String(err) }, `${what} failed`))
      .finally(() => this.ending.delete(what));
    this.ending.set(what, p);
  }

  /** The run's session, its terminal, then the agent let go: started, or startFailed with the reason. */
  private async launch(cause: Cause, run: Run): Promise<void> {
    if (run.value !== 'queued') return;
    const { entityId: id, context: c } = run;
    const files = this.files(id);
    const started = await outcomeOf(async () => {
      const worktree = (await readActor(this.deps.host, 'lane', c.laneId))?.context.worktreePath;
      if (!worktree) throw new Error(`lane ${c.laneId} has no worktree`);
      files.prepare(c.queuedAt);
      if (!(await this.layout.hasSession(id)))
        await this.layout.create({
          runId: id,
          terminalId: c.terminalId,
          laneId: c.laneId,
          worktree,
          command: c.command,
          files,
        });
      const spawned = await this.pm.attempt(cause, 'terminal', 'spawn', c.terminalId, {
        laneId: c.laneId,
        sessionId: c.sessionId,
        taskRunId: id,
      });
      if (!spawned.ok && spawned.error.code !== 'ALREADY_EXISTS')
        throw new Error(`its terminal ${c.terminalId} was refused: ${spawned.error.message}`);
      const t = actorOf(
        'terminal',
        await settled(this.deps.host, 'terminal', c.terminalId, ['spawning'], TERMINAL_START_MS),
      );
      if (t.value !== 'active')
        throw new Error(
          `its terminal ${c.terminalId} is ${String(t.value)} (${t.context.closeReason ?? 'still spawning'})`,
        );
      // A run cancelled while its terminal came up never lets its agent go.
      if ((await this.run(id))?.value !== 'queued') throw new Error('it ended before its agent started');
      await this.layout.release(id);
      const pane = await this.layout.pane(id, 'agent');
      if (!pane) throw new Error(`the agent pane of ${id} is gone`);
      // An agent that ended before it was seen has no group left to signal: its pane's pid stands for it.
      const agentPid = (await findAgent(id, pane.pid)) ?? pane.pid;
      return { agentPid, tmuxSession: id, inboxPath: files.inbox, controlPath: files.control };
    });
    if (started.ok) {
      this.watch(id);
      await this.pm.report(cause, 'taskRun', 'started', id, started.value);
      return;
    }
    this.pm.log.warn(
      { taskRunId: id, correlationId: cause.correlationId, reason: started.reason },
      'task run not started',
    );
    await this.layout.kill(id);
    await this.pm.report(cause, 'taskRun', 'startFailed', id, {
      reason: `the agent could not be started: ${started.reason}`,
    });
  }

  /**
   * pause, takeover, resume, cancel: the control file says the run's state now; a hard pause stops the
   * agent's process group, a takeover also holds the writer's input and selects the operator shell.
   */
  private async control(cause: Cause, run: Run, ev: EventEnvelope): Promise<void> {
    const { entityId: id, context: c } = run;
    const files = this.files(id);
    const state = String(run.value);
    // The hold follows the run as it is now (a release may have been followed by a pause already).
    if (!c.takeover && state !== 'cancelling') await this.keyboardToAgent(run);
    if (state === 'paused' && c.pause) {
      files.writeControl({
        state: 'paused',
        mode: c.pause.mode,
        seq: c.controlSeq,
        reason: c.pause.reason ?? null,
        by: c.pause.by,
        at: c.pause.at,
      });
      if (c.takeover) {
        this.deps.terminals.hold(c.terminalId);
        await this.layout.select(id, 'operator shell').catch(() => undefined);
      }
      if (c.pause.honouredAt) return;
      if (c.pause.mode === 'hard') await this.stopHard(cause, run);
      else this.awaitAck(id, c.controlSeq, cause.correlationId);
    } else if (state === 'running') {
      await this.resume(run, ev);
    } else if (state === 'cancelling') {
      files.writeControl({
        state: 'cancelled',
        mode: null,
        seq: c.controlSeq,
        reason: c.endReason ?? null,
        by: c.endedBy ?? actorRef(ev.actor),
        at: ev.at,
      });
      this.forgetAck(id);
      await this.deps.terminals.unhold(c.terminalId);
      // Its exit is reported by the watch.
      this.inBackground(`stop ${id}`, () => this.endAgent(run));
    }
  }

  private async resume(run: Run, ev: EventEnvelope): Promise<void> {
    const { entityId: id, context: c } = run;
    this.forgetAck(id);
    this.files(id).writeControl({
      state: 'running',
      mode: null,
      seq: c.controlSeq,
      reason: null,
      by: actorRef(ev.actor),
      at: ev.at,
    });
    const group = await this.agentGroup(run);
    if (group) signal(-group, 'SIGCONT');
  }

  /** release: the summary to the inbox like any message, the agent pane selected, the input let go, the agent resumed. */
  private async release(run: Run, ev: EventEnvelope): Promise<void> {
    const c = run.context;
    await this.deliverMessage(run, ev, (ev.data as { summary: string }).summary);
    if (c.takeover) return; // taken over again since: the keyboard stays the operator's
    await this.keyboardToAgent(run);
    if (String(run.value) === 'running') await this.resume(run, ev);
  }

  /** No takeover in force: the agent pane is selected again and the writer's held input delivered to it. */
  private async keyboardToAgent(run: Run): Promise<void> {
    await this.layout
      .select(run.entityId, 'agent')
      .catch((err) => this.pm.log.warn({ taskRunId: run.entityId, err: String(err) }, 'agent pane not selected'));
    await this.deps.terminals.unhold(run.context.terminalId);
  }

  /** Appended once by its event seq, and published on tether.task.<id>.inbox (again on a redelivery: agents dedupe by seq). */
  private async deliverMessage(run: Run, ev: EventEnvelope, message: string): Promise<void> {
    const files = this.files(run.entityId);
    files.prepare(run.context.queuedAt);
    const m: OperatorMessage = {
      ts: ev.at,
      actor: actorRef(ev.actor),
      message,
      task_run_id: run.entityId,
      seq: ev.seq,
    };
    files.appendMessage(m);
    this.deps.publish?.(taskSubjects.inbox(run.entityId), JSON.stringify(m));
  }

  /** SIGSTOP to the agent's process group; honoured once /proc shows its processes stopped. */
  private async stopHard(cause: Cause, run: Run): Promise<void> {
    const group = await this.agentGroup(run);
    if (!group)
      return void this.pm.log.warn(
        { taskRunId: run.entityId, correlationId: cause.correlationId },
        'hard pause not applied: the agent has no process group of its own any more (it ended, or never led one)',
      );
    signal(-group, 'SIGSTOP');
    const until = Date.now() + HARD_STOP_MS;
    while (Date.now() < until) {
      const pids = processesMarked('TETHER_TASK_RUN_ID', run.entityId).filter((p) => procStat(p)?.pgrp === group);
      if (pids.length > 0 && pids.every((p) => ['T', 't'].includes(procStat(p)?.state ?? 'T'))) {
        await this.pm.report(cause, 'taskRun', 'pauseHonoured', run.entityId, { controlSeq: run.context.controlSeq });
        return;
      }
      await sleep(10);
    }
    this.pm.log.warn({ taskRunId: run.entityId }, 'the agent did not show as stopped after SIGSTOP');
  }

  /** A soft pause is honoured when the agent writes {"seq":N} to its control file's .ack (noticed by a watch, or the tick). */
  private awaitAck(id: string, seq: number, correlationId: string): void {
    this.forgetAck(id);
    const entry: { seq: number; correlationId: string; watcher?: FSWatcher } = { seq, correlationId };
    try {
      entry.watcher = watch(this.files(id).dir, () => void this.checkAck(id));
    } catch {
      /* the tick still polls */
    }
    this.acks.set(id, entry);
    void this.checkAck(id);
  }

  private forgetAck(id: string): void {
    this.acks.get(id)?.watcher?.close();
    this.acks.delete(id);
  }

  private async checkAck(id: string): Promise<void> {
    const wait = this.acks.get(id);
    if (!wait || this.files(id).ackedSeq() !== wait.seq) return;
    this.forgetAck(id);
    await this.pm
      .report({ id: `ack-${id}-${wait.seq}`, correlationId: wait.correlationId }, 'taskRun', 'pauseHonoured', id, {
        controlSeq: wait.seq,
      })
      .catch((err) => this.pm.log.warn({ taskRunId: id, err: String(err) }, 'pause ack not recorded'));
  }

  /** The agent's process group, while its leader still carries the run's marker (a pid reused since does not). */
  private async agentGroup(run: Run): Promise<number | undefined> {
    const pid = run.context.agentPid;
    return pid && isAgentLeader(pid, run.entityId) ? pid : undefined;
  }

  /** Cancel: SIGCONT (a paused agent must see it) and SIGTERM to the group, SIGKILL after 3 s. */
  private async endAgent(run: Run): Promise<void> {
    await terminate({
      marked: () => processesMarked('TETHER_TASK_RUN_ID', run.entityId),
      groups: async () => {
        const g = await this.agentGroup(run);
        return g ? [-g] : [];
      },
      signals: ['SIGCONT', 'SIGTERM'],
    });
  }

  private watch(id: string): void {
    if (!this.watched.has(id)) this.watched.set(id, { statusWaits: 0 });
  }

  /** Every 500 ms: the agents' exits, and soft-pause acks a watch missed. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const id of this.acks.keys()) await this.checkAck(id);
      if (this.watched.size > 0) await this.watchExits();
    } catch (err) {
      this.pm.log.warn({ err: String(err) }, 'task exit check failed');
    } finally {
      this.ticking = false;
    }
  }

  private async watchExits(): Promise<void> {
    const panes = await this.layout.panes();
    for (const [id, w] of [...this.watched]) {
      const run = await this.run(id);
      if (!run || !hasLiveAgent(run.value)) {
        this.watched.delete(id);
        continue;
      }
      const cause = { id: `exit-${id}`, correlationId: run.context.correlationId };
      const session = panes.get(id);
      if (!session) {
        this.watched.delete(id);
        await this.pm.report(cause, 'taskRun', 'lost', id, {
          reason: `its tmux session ${id} is gone (its tmux server ended); how the agent ended is unknown`,
        });
        continue;
      }
      const agent = session.find((p) => p.role === 'agent');
      const status = this.files(id).exitStatus();
      if (status === undefined && agent && !agent.dead) continue;
      const exit = status !== undefined ? fromStatus(status) : fromPane(agent);
      if (exit.code === null && exit.signal === null && w.statusWaits < STATUS_WAIT_TICKS) {
        w.statusWaits++;
        continue;
      }
      this.watched.delete(id);
      await this.pm.report(cause, 'taskRun', 'exited', id, exit);
    }
  }

  /** Ended: its log line shown for a moment, then its session and its terminal go. */
  private async finish(cause: Cause, run: Run): Promise<void> {
    const { entityId: id, context: c } = run;
    this.watched.delete(id);
    this.forgetAck(id);
    await this.deps.terminals.unhold(c.terminalId);
    if (await this.layout.hasSession(id)) {
      await sleep(LINGER_MS);
      // An agent that outlived its run (cancelled while it started, or deaf to a hangup) goes with its layout.
      await this.endAgent(run);
      await this.layout.kill(id);
    }
    const t = await readActor(this.deps.host, 'terminal', c.terminalId);
    if (t && String(t.value) !== 'closed')
      await this.pm.report(cause, 'terminal', 'close', c.terminalId, { reason: `task run ${id} ${String(run.value)}` });
  }

  /** One task-log line per lifecycle event (the task log pane follows the file). */
  private logEvent(ev: EventEnvelope, run: Run, verb: string): void {
    if (this.logged.has(ev.id)) return;
    const line = logLine(verb, ev, run);
    if (!line) return;
    try {
      const files = this.files(run.entityId);
      files.prepare(run.context.queuedAt);
      files.logLine(ev.at, line);
      this.logged.add(ev.id);
      if (this.logged.size > 10_000) this.logged.clear();
    } catch (err) {
      this.pm.log.warn({ taskRunId: run.entityId, err: String(err) }, 'task log line not written');
    }
  }

  /** The restart check, again every 5 s while tmux does not answer (its runs are then neither watched nor lost). */
  private async recoverOrRetry(): Promise<void> {
    try {
      await this.recover();
    } catch (err) {
      this.pm.log.warn(
        { err: String(err) },
        'task runs not checked after the restart: tmux did not answer; again in 5 s',
      );
      this.retryRecover = setTimeout(() => void this.recoverOrRetry(), 5_000);
    }
  }

  /**
   * After a restart (or a kill -9) of tether: runs whose agent may be running and whose tmux session is
   * alive are watched again (a soft pause waits for its ack, a takeover holds its input again); those
   * whose session is gone are lost; ended runs whose session is left are cleaned up.
   */
  private async recover(): Promise<void> {
    const alive = await this.layout.sessions();
    // Only this installation's runs: another tether's are alive in its own tmux server.
    const own = await listActorsOf(this.deps.store, 'taskRun', (a) => a.context.installationId === this.deps.ownerId);
    for (const run of own) {
      const id = run.entityId;
      const c = run.context;
      const cause = { id: `recover-${id}-${run.version}`, correlationId: c.correlationId };
      if (isEndedTaskRun(run.value)) {
        if (alive.has(id)) await this.layout.kill(id);
        continue;
      }
      if (!hasLiveAgent(run.value)) continue; // queued: its queue event is delivered again
      if (!alive.has(id)) {
        await this.pm.report(cause, 'taskRun', 'lost', id, {
          reason: `its tmux session ${id} was gone when tether started again (its tmux server ended); how the agent ended is unknown`,
        });
        continue;
      }
      this.watch(id);
      // A cancel whose grace a crash cut short: the group is stopped again (its exit ends the run).
      if (run.value === 'cancelling') this.inBackground(`stop ${id}`, () => this.endAgent(run));
      if (c.takeover) this.deps.terminals.hold(c.terminalId);
      if (c.pause && !c.pause.honouredAt && c.pause.mode === 'soft') this.awaitAck(id, c.controlSeq, c.correlationId);
      this.pm.log.info({ taskRunId: id, state: String(run.value) }, 'task run watched again after a restart');
    }
  }
}

/** The agent: marked with its run, leading its own process group, not yet reaped. */
function isAgentLeader(pid: number, runId: string): boolean {
  try {
    const marked = `${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(`TETHER_TASK_RUN_ID=${runId}\0`);
    const stat = procStat(pid);
    return marked && stat?.pgrp === pid && stat.state !== 'Z';
  } catch {
    return false;
  }
}

/** The agent the pane's wrapper started: its child that leads a group of its own (up to 3 s after the release). */
async function findAgent(runId: string, panePid: number): Promise<number | undefined> {
  for (const until = Date.now() + 3_000; Date.now() < until; await sleep(10)) {
    const pid = processesMarked('TETHER_TASK_RUN_ID', runId).find(
      (p) => procStat(p)?.ppid === panePid && isAgentLeader(p, runId),
    );
    if (pid) return pid;
  }
  return undefined;
}

function fromStatus(s: number): { code: number | null; signal: string | null } {
  return s > 128 ? { code: null, signal: signalName(s - 128) } : { code: s, signal: null };
}

function fromPane(p: PaneInfo | undefined): { code: number | null; signal: string | null } {
  if (!p) return { code: null, signal: null };
  return { code: p.signal ? null : p.status, signal: p.signal ? signalName(p.signal) : null };
}

/** The task log's words for an event: who, and why where they said. */
function logLine(verb: string, ev: EventEnvelope, run: Run): string | undefined {
  const by = actorRef(ev.actor);
  const d = ev.data as { reason?: string; mode?: string; code?: number | null; signal?: string | null };
  const why = d.reason ? ` (${d.reason})` : '';
  const c = run.context;
  switch (verb) {
    case 'queue':
      return `queued by ${by}: ${c.command.join(' ')}`;
    case 'started':
      return `started: agent pid ${(ev.data as { agentPid: number }).agentPid}`;
    case 'startFailed':
      return `could not start: ${d.reason}`;
    case 'pause':
      return `paused by ${by} (${d.mode})${why}`;
    case 'pauseHonoured':
      return 'pause honoured by the agent';
    case 'resume':
      return `resumed by ${by}${why}`;
    case 'takeover':
      return `taken over by ${by} (${d.mode})${why}: the agent's input is held`;
    case 'release':
      return `released by ${by}: summary sent to the agent's inbox`;
    case 'message':
      return `message from ${by}`;
    case 'cancel':
      return `cancelled by ${by}${why}`;
    case 'exited':
      return d.signal ? `exited: killed by ${d.signal}` : `exited with code ${d.code}`;
    case 'lost':
      return `lost: ${d.reason}`;
    default:
      return undefined;
  }
}
