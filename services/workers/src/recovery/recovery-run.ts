import { isLiveTerminal } from '@tether/machines';
import { ORPHAN_LIST_MAX, type OrphanItemData } from '@tether/contracts';
import { listActorsOf, readActor, type ActorOf } from '@tether/projector';
import type { ActorHost, EventStore, Logger, ProcessManager } from '@tether/runtime';
import type { RespawnFrom, TerminalWorker } from '../terminals/terminal-worker.ts';

/** What RECONCILING reports: the seed's OrphanReport and CleanupResult. */
export interface Reconciliation {
  totalFound: number;
  safeToTerminate: OrphanItemData[];
  needsReview: OrphanItemData[];
  cleanup: { terminated: number; removed: number; reviewPending: number; failed: { id: string; reason: string }[] };
}

export interface RecoveryRunDeps {
  host: ActorHost;
  store: EventStore;
  pm: ProcessManager;
  log: Logger;
  terminals: TerminalWorker;
  /** Whose terminals this run restores (another data folder's tethers may share the NATS). */
  installationId: string;
  /** A terminal's checkpoint, read back (throws `checkpoint_…: why` when it cannot be). */
  checkpoint(t: ActorOf<'terminal'>): Promise<RespawnFrom>;
  /** Lanes re-inventoried: how many worktrees are there, and the lanes whose worktree is gone (reported). */
  lanes(): Promise<{ present: number; missing: string[] }>;
  reconcile(): Promise<Reconciliation>;
  /** Respawns at once (each is a handful of tmux calls). */
  concurrency?: number;
  /** Told after each step, for progress lines. */
  onStep?: (run: ActorOf<'recovery'>) => void;
}

/**
 * Drives a recovery run from the stage it is in to its end, one event per step: a run a crash
 * interrupted is driven again by the next start, from where it was (what is recorded is not redone).
 */
export async function driveRecovery(id: string, d: RecoveryRunDeps): Promise<ActorOf<'recovery'>> {
  const report = (step: string, verb: string, data: object) =>
    d.pm.report({ id: `${id}:${step}`, correlationId: id }, 'recovery', verb, id, data as Record<string, unknown>);
  let sessions: Set<string> | undefined;
  const listSessions = async () => {
    const s = await d.terminals.tmux.sessionListing();
    sessions = new Set(s.sessions);
    return { alive: s.serverPid !== undefined, names: s.sessions };
  };
  for (let step = 0, retries = 0; step < 10; step++) {
    try {
      const run = await readActor(d.host, 'recovery', id);
      if (!run) throw new Error(`recovery ${id} does not exist`);
      d.onStep?.(run);
      if (!(await stage(run))) return run;
    } catch (err) {
      // The store away for a moment (a NATS reconnect under load): every step is idempotent, so the
      // stage runs again from what it recorded; anything else fails the run with its reason.
      if ((err as { code?: string }).code !== 'UNAVAILABLE' || ++retries > RETRIES) throw err;
      d.log.warn({ recoveryId: id, err: String(err), retries }, 'recovery step retried: the store is unavailable');
      await new Promise((r) => setTimeout(r, 500));
      step--;
    }
  }
  throw new Error(`recovery ${id} did not finish its stages`);

  /** One stage's work; false once the run is over. */
  async function stage(run: ActorOf<'recovery'>): Promise<boolean> {
    switch (run.value) {
      case 'detecting': {
        const s = await listSessions(); // a listing that times out counts as "none survived"
        await report('detected', 'detected', { tmuxAlive: s.alive, sessions: s.names.length });
        break;
      }
      case 'inventorying': {
        const alive = sessions ?? new Set((await listSessions()).names);
        // This installation's terminals; one that predates installation ids counts only if its session is here.
        const live = await listActorsOf(
          d.store,
          'terminal',
          (t) =>
            isLiveTerminal(t.value) &&
            (t.context.installationId === d.installationId ||
              (t.context.installationId === undefined && alive.has(t.entityId))),
        );
        const terminals = live.map((t) => ({
          terminalId: t.entityId,
          laneId: t.context.laneId,
          plan: alive.has(t.entityId) ? 'reattach' : 'respawn',
          checkpointAt: t.context.checkpoint?.at ?? null,
        }));
        await report('inventoried', 'inventoried', { terminals });
        break;
      }
      case 'restoring':
        await restore(run, d, report, sessions ?? new Set((await listSessions()).names));
        break;
      case 'reconciling': {
        const started = Date.now();
        const r = await d.reconcile();
        await report('reconciled', 'reconciled', {
          totalFound: r.totalFound,
          safeToTerminate: r.safeToTerminate.slice(0, ORPHAN_LIST_MAX),
          needsReview: r.needsReview.slice(0, ORPHAN_LIST_MAX),
          cleanup: { ...r.cleanup, failed: r.cleanup.failed.slice(0, ORPHAN_LIST_MAX) },
          durationMs: Date.now() - started,
        });
        break;
      }
      default:
        return false; // live, liveWithIssues or failed
    }
    return true;
  }
}

/** How often a stage is tried again while the store is unavailable (every 500 ms: about a minute). */
const RETRIES = 120;

/** RESTORING in the seed's order: reattach what tmux kept, re-inventory the lanes, respawn the rest. */
async function restore(
  run: ActorOf<'recovery'>,
  d: RecoveryRunDeps,
  report: (step: string, verb: string, data: object) => Promise<unknown>,
  alive: Set<string>,
) {
  const started = Date.now();
  const open = run.context.plan.filter((p) => !run.context.outcomes[p.terminalId]);
  // One listing for every terminal (a store read per terminal is what made 200 slow).
  const now = new Map((await listActorsOf(d.store, 'terminal')).map((t) => [t.entityId, t]));
  const reattached: string[] = [];
  const respawn: string[] = [];
  for (const p of open) {
    const t = now.get(p.terminalId);
    if (!t || !isLiveTerminal(t.value)) {
      await report(`t:${p.terminalId}`, 'terminalFailed', {
        terminalId: p.terminalId,
        reason: `closed meanwhile (${t?.context.closeReason ?? 'gone'})`,
      });
    } else if (alive.has(p.terminalId)) {
      d.terminals.relayAgain(p.terminalId, t.context.sessionId);
      reattached.push(p.terminalId);
    } else respawn.push(p.terminalId);
  }
  if (reattached.length > 0) await report('reattached', 'reattached', { terminalIds: reattached });
  const lanes = await d.lanes();
  await report('lanes', 'lanesChecked', lanes);
  await pool(respawn, d.concurrency ?? 8, (terminalId) => respawnOne(run.entityId, now.get(terminalId)!, d, report));
  await report('restored', 'restored', { durationMs: Date.now() - started });
}

async function respawnOne(
  recoveryId: string,
  t: ActorOf<'terminal'>,
  d: RecoveryRunDeps,
  report: (step: string, verb: string, data: object) => Promise<unknown>,
) {
  const terminalId = t.entityId;
  const cause = { id: `${recoveryId}:respawn:${terminalId}`, correlationId: recoveryId };
  try {
    const from = await d.checkpoint(t);
    const panePid = await d.terminals.respawn(terminalId, t.context.laneId, t.context.sessionId, from);
    await d.pm.report(cause, 'terminal', 'respawned', terminalId, {
      reason: 'its tmux session was gone after the crash',
      tmuxSession: terminalId,
      panePid,
      restoredFrom: from.takenAt,
      recoveryId,
    });
    await report(`t:${terminalId}`, 'terminalRestored', { terminalId, how: 'respawn' });
  } catch (err) {
    const reason = (err as Error).message.slice(0, 900);
    d.log.warn({ terminalId, recoveryId, reason }, 'terminal lost: it could not be respawned');
    await d.pm.report(cause, 'terminal', 'lost', terminalId, { reason, recoveryId });
    await report(`t:${terminalId}`, 'terminalFailed', { terminalId, reason });
  }
}

/** Runs `work` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
}
