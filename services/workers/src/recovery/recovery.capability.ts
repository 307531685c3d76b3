import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { recoverySubjects, subjects, type StoredEvent } from '@tether/contracts';
import { isLiveShare, isLiveTerminal } from '@tether/machines';
import { isRecovering, listActorsOf, readActor, recoveryRuns, recoveryStatus, type ActorOf } from '@tether/projector';
import {
  CorrelationOrigins,
  FileSnapshotStore,
  ObjectStoreSnapshotStore,
  ProcessManager,
  type SecretBox,
  type Capability,
  type CapabilityDeps,
  type Reactive,
  type SnapshotStore,
  type Subscription,
} from '@tether/runtime';
import type { LaneWorker } from '../lanes/lane-worker.ts';
import type { Workspaces } from '../lanes/workspaces.ts';
import type { TerminalWorker } from '../terminals/terminal-worker.ts';
import { Checkpointer, loadCheckpoint } from './checkpointer.ts';
import { cause, detectCrashes, previousExit } from './crash-detection.ts';
import { RecoveryGate } from './recovery-gate.ts';
import { driveRecovery, type Reconciliation } from './recovery-run.ts';
import { recoveryRoutes } from './recovery.routes.ts';
import { cleanReviewed, cleanupOrphans } from './orphan-cleanup.ts';
import { scanOrphans } from './orphan-scan.ts';
import type { OrphanItem } from './orphans.ts';

export interface RecoveryDeps extends CapabilityDeps {
  terminals: TerminalWorker;
  lanes: LaneWorker;
  workspaces: Workspaces;
  /** Resolves once the actors read model has caught up with the stream (crash detection reads it). */
  caughtUp: () => Promise<void>;
  /** The installation key (sharing's, secret.key): it seals the terminals' environments in their checkpoints. */
  secrets: SecretBox;
  /** This installation's id (TETHER_OWNER of everything it starts). */
  installationId: string;
  /** Processes never to count as orphans: this one, its supervisor, the local nats-server. */
  protectedPids: () => number[];
  /** Where the supervisor's record of the previous server's end comes from (TETHER_PREVIOUS_EXIT). */
  previousExit?: string;
}

export interface Recovery extends Capability {
  gate: RecoveryGate;
  /**
   * At start, before the timers and the other capabilities: records this instance and the crashes it
   * finds, starts (or resumes) a recovery run when there is something to recover, and says whether this
   * start runs in safe mode.
   */
  begin(): Promise<{ safeMode: boolean; runId?: string }>;
  /** Once the capabilities run (the terminal worker relays what survived): drives the run to its end. */
  drive(onStep?: (run: ActorOf<'recovery'>) => void): Promise<ActorOf<'recovery'> | undefined>;
  /** Called when an operator leaves safe mode: what it held back starts. */
  onSafeModeLeft(start: () => Promise<void>): void;
  /** tether is stopping: a run that fails from now on was cut short, not failed; the next start resumes it. */
  stopping(): void;
}

/** Crash recovery (seed 003): the instance's heartbeat, crash detection, recovery runs, checkpoints, orphans. */
export async function startRecovery(deps: RecoveryDeps): Promise<Recovery> {
  const { host, store, send, logger, config, home, terminals } = deps;
  // Its own durable consumer per installation: a run's cleanup must happen on the machine that has its orphans.
  const pm = new ProcessManager(`recovery-${deps.installationId}`, send, logger);
  const instanceId = randomUUID();
  const gate = new RecoveryGate(config.TETHER_RECOVERY_HOLD_MS);
  const snapshots: SnapshotStore = deps.nc
    ? await ObjectStoreSnapshotStore.open(deps.nc, { replicas: config.TETHER_REPLICAS })
    : new FileSnapshotStore(join(home, 'checkpoints'));
  const checkpointer = new Checkpointer({
    host,
    pm,
    origins: new CorrelationOrigins(store),
    tmux: terminals.tmux,
    snapshots,
    box: deps.secrets,
    logFile: terminals.logFile,
    intervalMs: config.TETHER_CHECKPOINT_INTERVAL_MS,
    scrollbackBytes: config.TETHER_CHECKPOINT_SCROLLBACK_BYTES,
    log: logger,
  });
  terminals.setActivity(checkpointer);
  let runId: string | undefined;
  let stopping = false;
  let leaveSafeMode: (() => Promise<void>) | undefined;

  const reconcile = async (): Promise<Reconciliation> => {
    const live = await liveSet(deps);
    const temp = await snapshots.sweepTemp();
    const report = await scanOrphans({
      installationId: deps.installationId,
      live,
      tmux: terminals.tmux,
      worktreesDir: join(home, 'worktrees'),
      tempDirs: [join(home, 'checkpoints'), join(home, 'terminals')],
    });
    const cleanup = await cleanupOrphans(report, { tmux: terminals.tmux });
    const swept = temp.map((path) => ({
      id: `file:${path}`,
      kind: 'tempFile' as const,
      ref: path,
      reason: 'left by a checkpoint write a crash cut short',
    }));
    return {
      totalFound: report.totalFound + swept.length,
      safeToTerminate: [...report.safeToTerminate, ...swept],
      needsReview: report.needsReview,
      cleanup: { ...cleanup, removed: cleanup.removed + swept.length },
    };
  };

  const heartbeat = heartbeats(pm, instanceId, config.TETHER_HEARTBEAT_MS);
  // The recovery's own reports on a run: an operator left safe mode, or asked to clean what needed review.
  let sub: Subscription | undefined;
  const onRunEvent = async (e: StoredEvent) => {
    const run = await readActor(host, 'recovery', e.event.entityId);
    if (!run || run.context.installationId !== deps.installationId) return;
    if (e.event.type === 'recovery.leaveSafeMode') await safeModeLeft();
    if (e.event.type === 'recovery.cleanReview') await cleanRequested(run, e);
  };
  /** Safe mode ends on this tether once the run holding it says it was left (read from the host: no lag). */
  let leaving: Promise<void> | undefined;
  const safeModeLeft = async () => {
    const held = gate.safeMode;
    if (!held) return leaving;
    const run = await readActor(host, 'recovery', held.runId);
    if (run?.context.safeMode?.leftAt === undefined) return;
    if (gate.safeMode !== held) return leaving;
    gate.safeMode = null;
    logger.info(
      { recoveryId: held.runId, by: run.context.safeMode.leftBy, reason: run.context.safeMode.leftReason },
      'safe mode left: share workers, the harness monitor and new terminals start',
    );
    leaving = leaveSafeMode?.();
    await leaving;
  };
  gate.stillSafe = async () => {
    await safeModeLeft();
    return gate.safeMode !== null;
  };
  const cleanRequested = async (run: ActorOf<'recovery'>, e: StoredEvent) => {
    const asked = (e.event.data as { items?: string[] }).items;
    const pending = run.context.orphans?.needsReview ?? [];
    const items = asked ? pending.filter((i) => asked.includes(i.id)) : pending;
    // A list it refuses whole (an item outside tether's folders) is reported as failed, item by item.
    const cleanup = await cleanReviewed(items as OrphanItem[], {
      tmux: terminals.tmux,
      worktreesDir: join(home, 'worktrees'),
    }).catch((err: Error) => ({
      terminated: 0,
      removed: 0,
      reviewPending: items.length,
      failed: items.map((i) => ({ id: i.id, reason: err.message.slice(0, 900) })),
    }));
    await pm.report(e.event, 'recovery', 'reviewCleaned', run.entityId, {
      items: items.map((i) => i.id).filter((id) => !cleanup.failed.some((f) => f.id === id)),
      cleanup,
    });
  };
  const events: Reactive = {
    start: async () => {
      sub = await pm.subscribe(store, subjects.entityEvents('recovery'), onRunEvent);
    },
    stop: () => sub?.stop(),
  };

  return {
    name: 'recovery',
    commands: {},
    preconditions: {},
    reactors: [heartbeat, events],
    routes: recoveryRoutes({
      dispatcher: deps.dispatcher,
      host,
      store,
      installationId: deps.installationId,
      safeModeLeft,
    }),
    gate,
    onSafeModeLeft: (start) => {
      leaveSafeMode = start;
    },
    stopping: () => {
      stopping = true;
    },

    async begin() {
      await deps.caughtUp().catch((err) => logger.warn({ err: String(err) }, 'read model still lags at start'));
      const runs = await recoveryRuns(store, deps.installationId);
      const activeSafe = runs.find((r) => r.context.safeMode && r.context.safeMode.leftAt === undefined);
      const lastLeft = runs
        .map((r) => r.context.safeMode?.leftAt)
        .filter((at): at is string => at !== undefined)
        .sort()
        .at(-1);
      const found = await detectCrashes({
        host,
        store,
        pm,
        installationId: deps.installationId,
        instanceId,
        exit: previousExit(deps.previousExit, logger),
        safeModeLeftAt: lastLeft,
        now: new Date(),
      });
      await pm.report(cause(instanceId), 'instance', 'start', instanceId, {
        installationId: deps.installationId,
        pid: process.pid,
        hostname: hostname(),
        heartbeatMs: config.TETHER_HEARTBEAT_MS,
      });
      const asked = config.TETHER_SAFE_MODE ? { reason: 'TETHER_SAFE_MODE is set', crashes: 0 } : null;
      const safeMode = found.crashLoop ?? (activeSafe ? null : asked);
      const unfinished = runs.find((r) => isRecovering(r.value));
      const stranded = await strandedTerminals(deps);
      if (found.crashes.length > 0 || unfinished || stranded > 0 || safeMode) {
        if (unfinished) {
          runId = unfinished.entityId;
          await pm.report(cause(instanceId, 'resume'), 'recovery', 'resumed', runId, {
            instanceId,
            crashes: found.crashes,
            safeMode,
          });
        } else {
          runId = randomUUID();
          await pm.report(cause(instanceId, 'run'), 'recovery', 'start', runId, {
            installationId: deps.installationId,
            instanceId,
            crashes: found.crashes,
            safeMode,
          });
        }
        for (const c of found.crashes)
          await pm.report(cause(instanceId, 'recovered'), 'instance', 'recovered', c.instanceId, { recoveryId: runId });
        gate.hold(runId);
      }
      const safe = safeMode ?? activeSafe?.context.safeMode ?? null;
      const safeRun = safeMode ? runId : activeSafe?.entityId;
      gate.safeMode = safe && safeRun ? { reason: safe.reason, runId: safeRun } : null;
      if (safe)
        logger.warn(
          { reason: safe.reason },
          'tether runs in safe mode: no share workers, no harness monitor, no new terminals',
        );
      return { safeMode: safe !== null, runId };
    },

    async drive(onStep) {
      if (!runId) return undefined;
      const id = runId;
      // Each step's view on core NATS too, for ops watching a tether come back.
      const publish = async () => {
        if (!deps.nc) return;
        const status = await recoveryStatus(store, deps.installationId, await readActor(host, 'recovery', id));
        deps.nc.publish(recoverySubjects.status(deps.installationId), JSON.stringify(status));
      };
      const step = (run: ActorOf<'recovery'>) => {
        onStep?.(run);
        void publish().catch((err) => logger.warn({ err: String(err) }, 'recovery progress not published'));
      };
      try {
        return await driveRecovery(id, {
          host,
          store,
          pm,
          log: logger,
          terminals,
          installationId: deps.installationId,
          checkpoint: async (t) => {
            const ref = t.context.checkpoint;
            if (!ref) {
              // Never checkpointed (it never printed): a fresh shell where it started, in the lane's worktree.
              const lane = await readActor(host, 'lane', t.context.laneId);
              if (!lane?.context.worktreePath) throw new Error('no_checkpoint: and its lane has no worktree');
              return {
                cwd: t.context.cwd ?? lane.context.worktreePath,
                env: {},
                scrollback: new Uint8Array(),
                takenAt: null,
              };
            }
            try {
              return await loadCheckpoint(snapshots, deps.secrets, t.entityId, ref);
            } catch (err) {
              const msg = (err as Error).message;
              throw new Error(msg.startsWith('checkpoint_') ? msg : `checkpoint_unreadable: ${msg}`);
            }
          },
          lanes: () => deps.lanes.checkWorktrees(),
          reconcile,
          concurrency: config.TETHER_RECOVERY_CONCURRENCY,
          onStep: step,
        });
      } catch (err) {
        if (stopping) {
          logger.info(
            { recoveryId: id, err: String(err) },
            'recovery run cut short by the stop; the next start resumes it',
          );
          return undefined;
        }
        logger.error({ recoveryId: id, err: String(err) }, 'recovery run failed');
        await pm.report(cause(instanceId, 'failed'), 'recovery', 'failed', id, {
          reason: String((err as Error).message ?? err).slice(0, 900),
        });
        return readActor(host, 'recovery', id);
      } finally {
        gate.live();
        await publish().catch(() => {});
      }
    },

    stop: async () => {
      checkpointer.stop();
    },
  };
}

/** Live terminals whose tmux session is gone (a reboot after a clean stop strands them too). */
async function strandedTerminals(deps: RecoveryDeps): Promise<number> {
  const live = await listActorsOf(
    deps.store,
    'terminal',
    (a) => isLiveTerminal(a.value) && a.context.installationId === deps.installationId,
  );
  if (live.length === 0) return 0;
  const names = await deps.terminals.tmux.listSessions();
  return live.filter((t) => !names.includes(t.entityId)).length;
}

/** What is live now: the orphan scan leaves these alone. */
async function liveSet(deps: RecoveryDeps) {
  const all = await listActorsOf(deps.store, 'terminal');
  const shares = await listActorsOf(deps.store, 'share', (a) => isLiveShare(a.value));
  const lanes = await listActorsOf(deps.store, 'lane', (a) => a.value !== 'closed');
  return {
    terminals: new Set(all.filter((t) => isLiveTerminal(t.value)).map((t) => t.entityId)),
    knownTerminals: new Set(all.map((t) => t.entityId)),
    shares: new Set(shares.map((s) => s.entityId)),
    // A lane still provisioning has no path in its context yet, but its worktree may be on disk already.
    lanes: new Map(
      lanes.map((l) => [
        l.entityId,
        l.context.worktreePath ?? deps.workspaces.worktreePath(l.context.workspaceId, l.entityId),
      ]),
    ),
    protectedPids: new Set(deps.protectedPids()),
  };
}

/** The instance's heartbeat while it runs, and its clean stop: stopped last (recovery is the first capability). */
function heartbeats(pm: ProcessManager, instanceId: string, everyMs: number): Reactive {
  let timer: NodeJS.Timeout | undefined;
  let n = 0;
  return {
    start: async () => {
      timer = setInterval(() => {
        n++;
        void pm.report(cause(instanceId, `hb-${n}`), 'instance', 'heartbeat', instanceId, {});
      }, everyMs);
      timer.unref();
    },
    stop: async () => {
      clearInterval(timer);
      await pm.report(cause(instanceId, 'stop'), 'instance', 'stop', instanceId, {});
    },
  };
}
