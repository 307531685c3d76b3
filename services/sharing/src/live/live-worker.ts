import { setTimeout as sleep } from 'node:timers/promises';
import { actorRef, subjects, type Command, type StoredEvent } from '@tether/contracts';
import { isEndedTaskRun, isLiveShare, isLiveSessionUp, isLiveTerminal } from '@tether/machines';
import { listActorsOf, liveSessionIdOf, readActor, type ActorOf } from '@tether/projector';
import {
  CorrelationOrigins,
  ProcessManager,
  outcomeOf,
  stepId,
  type ActorHost,
  type Cause,
  type EventStore,
  type Logger,
  type Send,
  type Subscription,
} from '@tether/runtime';
import type { SecretBox } from '../secrets.ts';
import type { ShareGate } from '../share-gate.ts';
import type { shareSteps } from '../share-commands.ts';
import type { LiveSession } from './live-links.ts';
import { liveShareIdOf } from './live-share.ts';
import type { LiveSettings } from './live-settings.ts';

export interface LiveWorkerDeps {
  store: EventStore;
  host: ActorHost;
  send: Send;
  log: Logger;
  secrets: SecretBox;
  gate: ShareGate;
  steps: ReturnType<typeof shareSteps>;
  settings: LiveSettings;
  /** Who serves the sessions, in their heartbeats: the installation id (deps.ownerId), stable across restarts. */
  instanceId: string;
  /** How long an opened session waits for its run's terminal to start (default 60 s). */
  terminalWaitMs?: number;
}

const SERVING = new Set(['active', 'expiring']);
const isServing = (s: ActorOf<'share'> | undefined) => !!s && SERVING.has(String(s.value));
const ACK_WAIT_MS = 120_000;
/** How much longer a session's share may live than the session. */
const SHARE_GRACE_MS = 30_000;

/**
 * The live sessions' effects after persistence, each acting on current state: an opened session gets a
 * share of its run's terminal (once the terminal runs, within TETHER_LIVE_MAX_PER_WORKER) and heartbeats
 * while this tether serves it; its share's start or failure makes it READY or ERROR (the run goes on
 * headless); an ended session revokes its share (every watcher is cut off); lost write grants are taken
 * back on the share; the run's release takes the releaser's grant back and its end ends the session.
 */
export class LiveWorker {
  private readonly pm: ProcessManager;
  private readonly origins: CorrelationOrigins;
  private subs: Subscription[] = [];
  /** Sessions this process serves (starting or ready), with their heartbeat timers. */
  private readonly served = new Map<string, NodeJS.Timeout>();
  private readonly beginning = new Set<string>();
  private readonly boot = Date.now().toString(36);

  constructor(private readonly deps: LiveWorkerDeps) {
    this.pm = new ProcessManager('live', deps.send, deps.log);
    this.origins = new CorrelationOrigins(deps.store);
  }

  async start() {
    await this.recover();
    const sub = (name: string, entity: string, handle: (e: StoredEvent) => Promise<void>) =>
      this.deps.store.subscribe(
        `pm_live_${name}`,
        { filter: subjects.entityEvents(entity), ackWaitMs: ACK_WAIT_MS },
        handle,
      );
    this.subs = await Promise.all([
      sub('sessions', 'liveSession', (e) => this.onSession(e)),
      sub('shares', 'share', (e) => this.onShare(e)),
      sub('runs', 'taskRun', (e) => this.onRun(e)),
    ]);
  }

  async stop() {
    await Promise.all(this.subs.map((s) => s.stop()));
    this.subs = [];
    for (const t of this.served.values()) clearInterval(t);
    this.served.clear();
  }

  /** Sessions this process serves now (tests and diagnostics). */
  get serving(): string[] {
    return [...this.served.keys()];
  }

  private session = (id: string) => readActor(this.deps.host, 'liveSession', id);

  private async onSession({ event: ev }: StoredEvent) {
    if (ev.type === 'liveSession.heartbeat' || ev.type === 'liveSession.grantWrite') return;
    const ls = await this.session(ev.entityId);
    if (!ls) return;
    if (!isLiveSessionUp(ls.value)) return this.ended(ev, ls);
    if (ev.type === 'liveSession.open' && ls.value === 'starting') return this.begin(ev, ls);
    if (ev.type === 'liveSession.revokeWrite' || ev.type === 'liveSession.writeExpired') return this.takeBack(ev, ls);
  }

  /** A share that serves a session started (READY) or ended (ERROR, or ENDED with why). */
  private async onShare({ event: ev }: StoredEvent) {
    const share = await readActor(this.deps.host, 'share', ev.entityId);
    const id = share?.context.liveSessionId;
    if (!share || !id) return;
    const ls = await this.session(id);
    if (!ls || !isLiveSessionUp(ls.value)) return;
    if (isServing(share) && ls.value === 'starting') return this.ready(ev, ls, share);
    if (share.value !== 'ended') return;
    const c = share.context;
    const detail = c.endDetail ? `: ${c.endDetail}` : '';
    if (c.endReason === 'failed' || ls.value === 'starting')
      await this.pm.report(ev, 'liveSession', 'failed', id, {
        reason: `its ${c.backend} share ${share.entityId} ${c.endReason ?? 'ended'}${detail} (the run goes on headless)`,
      });
    else
      await this.pm.report(ev, 'liveSession', 'end', id, {
        reason: `its share ${share.entityId} ${c.endReason}${detail}`,
      });
  }

  /** The run's release takes back the grant of whoever held the takeover (another operator may release it); the run's end ends its session. */
  private async onRun({ event: ev }: StoredEvent) {
    const id = liveSessionIdOf(ev.entityId);
    if (ev.type === 'taskRun.release') {
      const run = await readActor(this.deps.host, 'taskRun', ev.entityId);
      const holder = run?.context.releasedTakeoverBy ?? actorRef(ev.actor);
      await this.pm.report(ev, 'liveSession', 'revokeWrite', id, {
        to: holder,
        reason: `${actorRef(ev.actor)} released task run ${ev.entityId}${holder === actorRef(ev.actor) ? '' : ` (taken over by ${holder})`}`,
      });
    }
    if (!isEndedTaskRun(ev.state)) return;
    const ls = await this.session(id);
    if (ls && isLiveSessionUp(ls.value))
      await this.pm.report(ev, 'liveSession', 'end', id, { reason: `task run ${ev.entityId} ${String(ev.state)}` });
  }

  /** An opened session: within this process's limit, served (heartbeats), then shared once its terminal runs. */
  private async begin(cause: Cause, ls: LiveSession) {
    const id = ls.entityId;
    if (this.beginning.has(id)) return;
    const max = this.deps.settings.maxPerWorker;
    if (!this.served.has(id) && this.served.size >= max) {
      await this.pm.report(cause, 'liveSession', 'failed', id, {
        reason: `this tether already serves ${this.served.size} live sessions, its limit (TETHER_LIVE_MAX_PER_WORKER=${max}); the run goes on headless (end a live session, or raise the limit)`,
      });
      return;
    }
    this.serve(id, ls.context.heartbeatMs, cause.correlationId);
    this.beginning.add(id);
    void this.share(cause, ls)
      .catch((err) => this.pm.log.error({ liveSessionId: id, err: String(err) }, 'live session share not recorded'))
      .finally(() => this.beginning.delete(id));
  }

  /** The session's share: a write share (grants possible) of the run's terminal, owned by the session's owner. */
  private async share(cause: Cause, ls: LiveSession) {
    const id = ls.entityId;
    const c = ls.context;
    const shareId = liveShareIdOf(id);
    const made = await outcomeOf(async () => {
      await this.terminalRuns(ls);
      const before = await readActor(this.deps.host, 'share', shareId);
      if (before) return before; // made before a restart, or by an earlier try
      const { minTtlMs, maxTtlMs } = this.deps.gate.settings;
      const cmd: Command = {
        id: stepId(`live-share:${id}`, 'create'),
        entity: 'share',
        verb: 'create',
        entityId: shareId,
        data: {},
        actor: c.owner,
        correlationId: cause.correlationId,
        causationId: cause.id,
      };
      await this.deps.steps.create(
        cmd,
        {
          terminal_id: c.terminalId,
          backend: c.provider,
          access: 'write',
          // A little longer than the session: its own deadline ends it, with its reason, and that revokes the share.
          ttl_ms: Math.min(maxTtlMs, Math.max(minTtlMs, c.ttlMs + SHARE_GRACE_MS)),
          participant: 'viewer',
        },
        { live: { liveSessionId: id, taskRunId: c.taskRunId, web: c.allowWeb } },
      );
      return readActor(this.deps.host, 'share', shareId);
    });
    if (!made.ok)
      return void (await this.pm.report(cause, 'liveSession', 'failed', id, {
        reason: `${made.reason} (the run goes on headless)`,
      }));
    if (isServing(made.value)) await this.ready(cause, ls, made.value!);
  }

  /** Waits (bounded) until the run's terminal runs; throws why not (the run ended first, the terminal closed, time ran out). */
  private async terminalRuns(ls: LiveSession) {
    const { terminalId, taskRunId } = ls.context;
    const waitMs = this.deps.terminalWaitMs ?? 60_000;
    const until = Date.now() + waitMs;
    for (;;) {
      const t = await readActor(this.deps.host, 'terminal', terminalId);
      if (t && isLiveTerminal(t.value)) return;
      if (t?.value === 'closed') throw new Error(`terminal ${terminalId} of task run ${taskRunId} is closed`);
      const run = await readActor(this.deps.host, 'taskRun', taskRunId);
      if (run && isEndedTaskRun(run.value))
        throw new Error(
          `task run ${taskRunId} ${String(run.value)} before its terminal ran${run.context.endReason ? ` (${run.context.endReason})` : ''}`,
        );
      const now = await this.session(ls.entityId);
      if (!now || !isLiveSessionUp(now.value)) throw new Error(`live session ${ls.entityId} ended meanwhile`);
      if (Date.now() >= until)
        throw new Error(`terminal ${terminalId} of task run ${taskRunId} did not start within ${waitMs / 1000} s`);
      await sleep(100);
    }
  }

  /** READY with its share; tmate's read-only endpoints (web only where allowed) sealed with tether's key. */
  private async ready(cause: Cause, ls: LiveSession, share: ActorOf<'share'>) {
    const sealed = share.context.sealedLinks;
    let sealedReadOnly: string | undefined;
    if (sealed) {
      const links = this.deps.secrets.open<Record<string, string>>(sealed);
      const ro = Object.fromEntries(
        Object.entries(links).filter(([k]) => k === 'ssh_ro' || (k === 'web_ro' && ls.context.allowWeb)),
      );
      sealedReadOnly = this.deps.secrets.seal(ro);
    }
    await this.pm.report(cause, 'liveSession', 'ready', ls.entityId, {
      shareId: share.entityId,
      ...(sealedReadOnly ? { sealedReadOnly } : {}),
    });
  }

  /** Revoked, ended or in error: no more heartbeats, and its share is revoked (every watcher disconnected at once). */
  private async ended(cause: Cause, ls: LiveSession) {
    this.unserve(ls.entityId);
    const shareId = ls.context.shareId ?? liveShareIdOf(ls.entityId);
    const share = await readActor(this.deps.host, 'share', shareId);
    if (share && isLiveShare(share.value))
      await this.pm.report(cause, 'share', 'revoke', shareId, {
        reason: `live session ${ls.entityId} ${String(ls.value)}: ${ls.context.endReason ?? String(ls.value)}`,
      });
  }

  /**
   * Write grants the session no longer holds are taken back on its share. tmate cannot take write back
   * from one person (its read-write endpoints are everyone's), so there the whole session is revoked.
   */
  private async takeBack(cause: Cause, ls: LiveSession) {
    if (ls.value !== 'ready' || !ls.context.shareId) return;
    if (ls.context.provider === 'tmate') {
      await this.pm.report(cause, 'liveSession', 'revoke', ls.entityId, {
        reason:
          'a write grant ended and tmate cannot take write back from one person (its read-write endpoints are shared): the session ends; enable it again for new endpoints',
      });
      return;
    }
    const share = await readActor(this.deps.host, 'share', ls.context.shareId);
    if (!share) return;
    const granted = new Set(ls.context.grants.map((g) => g.participantId));
    for (const [participantId, p] of Object.entries(share.context.participants)) {
      if (p.access !== 'write' || granted.has(participantId)) continue;
      await this.pm.report({ ...cause, id: `${cause.id}:${participantId}` }, 'share', 'revokeWrite', share.entityId, {
        participantId,
        reason: `their write grant in live session ${ls.entityId} ended`,
      });
    }
  }

  /** Heartbeats for a session this process serves, every heartbeatMs from now on; a refused one means it ended. */
  private serve(id: string, heartbeatMs: number, correlationId: string) {
    if (this.served.has(id)) return;
    let n = 0;
    const beat = () =>
      void this.pm
        .report({ id: `hb-${this.boot}-${id}-${n++}`, correlationId }, 'liveSession', 'heartbeat', id, {
          instanceId: this.deps.instanceId,
        })
        .then((accepted) => {
          if (!accepted) this.unserve(id);
        })
        .catch((err) => this.pm.log.warn({ liveSessionId: id, err: String(err) }, 'live session heartbeat not sent'));
    this.served.set(id, setInterval(beat, heartbeatMs));
    beat();
  }

  private unserve(id: string) {
    clearInterval(this.served.get(id));
    this.served.delete(id);
  }

  /**
   * After a restart: this installation's sessions are adopted if their share still serves them (its
   * heartbeats go on), a starting one is started again, and the rest end with the reason. Sessions
   * another tether serves are left to it (their heartbeat deadline ends them if it is gone).
   */
  private async recover() {
    for (const listed of await listActorsOf(this.deps.store, 'liveSession', (a) => isLiveSessionUp(a.value))) {
      const ls = await this.session(listed.entityId);
      if (!ls || !isLiveSessionUp(ls.value)) continue;
      const owner = ls.context.instanceId;
      if (owner && owner !== this.deps.instanceId) continue;
      const correlationId = await this.origins.of('liveSession', ls.entityId, `live-${ls.entityId}`);
      const cause = { id: `recover-${this.boot}-${ls.entityId}`, correlationId };
      // Down for three heartbeats: its worker is gone, as the timer would say (a heartbeat now would hide it).
      const due = ls.context.heartbeatDueAt;
      if (due && Date.parse(due) <= Date.now()) {
        await this.pm.report(cause, 'liveSession', 'heartbeatMissed', ls.entityId, {});
        continue;
      }
      if (ls.value === 'starting') {
        await this.begin(cause, ls);
        continue;
      }
      const share = ls.context.shareId ? await readActor(this.deps.host, 'share', ls.context.shareId) : undefined;
      if (isServing(share)) {
        this.serve(ls.entityId, ls.context.heartbeatMs, correlationId);
        continue;
      }
      await this.pm.report(cause, 'liveSession', 'end', ls.entityId, {
        reason: `its worker restarted and its share ${ls.context.shareId ?? ''} is gone${share?.context.endDetail ? ` (${share.context.endDetail})` : ''}`,
      });
    }
  }
}
