import {
  actorRef,
  stageText,
  type CheckpointView,
  type OrphanView,
  type RecoveryStage,
  type RecoveryStatusView,
  type RecoveryView,
  type SafeModeView,
} from '@tether/contracts';
import { recoveryResult, type RecoveryContext } from '@tether/machines';
import type { EventStore } from '@tether/runtime';
import { listActorsOf, type ActorOf } from './actor-reads.ts';

/** What safe mode turns off, as the dashboard and the CLI say it. */
export const SAFE_MODE_DISABLED = ['share workers', 'the harness monitor', 'new terminals'];
export const LEAVE_SAFE_MODE = 'tether recovery leave-safe-mode --reason "<why it is safe now>"';

const FINISHED: readonly string[] = ['live', 'liveWithIssues', 'failed'];
export const isRecovering = (value: unknown) => !FINISHED.includes(String(value));

/** What an operator can do about a terminal a run could not bring back. */
function whatToDo(reason: string): string {
  if (reason.startsWith('cwd_missing'))
    return 'its working directory is gone: restore the folder and spawn a new terminal in the lane, or clean the lane up';
  if (reason.startsWith('checkpoint'))
    return 'its checkpoint is damaged: spawn a new terminal in the lane (the old scrollback is in the terminal log under $TETHER_HOME/terminals/logs)';
  return 'spawn a new terminal in the lane; `tether events terminal <id>` shows its history';
}

function safeModeView(id: string, c: RecoveryContext): SafeModeView | null {
  if (!c.safeMode) return null;
  return {
    active: c.safeMode.leftAt === undefined,
    reason: c.safeMode.reason,
    crashes: c.safeMode.crashes,
    recovery_id: id,
    left_at: c.safeMode.leftAt ?? null,
    left_by: c.safeMode.leftBy ? actorRef(c.safeMode.leftBy) : null,
    disabled: SAFE_MODE_DISABLED,
    leave: LEAVE_SAFE_MODE,
  };
}

/** A recovery run as every surface shows it. */
export function recoveryView(a: ActorOf<'recovery'>): RecoveryView {
  const c = a.context;
  const result = recoveryResult(c);
  const terminals = c.plan.map((p) => {
    const o = c.outcomes[p.terminalId];
    const reason = o?.result === 'failed' ? o.reason : null;
    return {
      terminal_id: p.terminalId,
      lane_id: p.laneId,
      plan: p.plan,
      checkpoint_at: p.checkpointAt,
      outcome: o?.result ?? null,
      reason,
      what_to_do: reason ? whatToDo(reason) : null,
    };
  });
  const progress = { done: Object.keys(c.outcomes).length, total: c.plan.length };
  const status = String(a.value) as RecoveryStage;
  const view: RecoveryView = {
    recovery_id: a.entityId,
    status,
    stage_text: '',
    started_at: c.startedAt,
    instance_id: c.instanceId,
    resumes: c.resumes,
    crashes: c.crashes.map((k) => ({
      instance_id: k.instanceId,
      pid: k.pid,
      started_at: k.startedAt,
      last_heartbeat_at: k.lastHeartbeatAt,
      crashed_at: k.crashedAt,
      exit: k.exit ? { code: k.exit.code, signal: k.exit.signal, reason: k.exit.reason } : null,
    })),
    safe_mode: safeModeView(a.entityId, c),
    tmux: c.tmux ?? null,
    progress,
    terminals,
    lanes: c.lanes ?? null,
    result: {
      restored: result.restored,
      respawned: result.respawned,
      failed: result.failed,
      duration_ms: result.durationMs,
    },
    orphans: c.orphans
      ? {
          total_found: c.orphans.totalFound,
          safe_to_terminate: c.orphans.safeToTerminate,
          needs_review: c.orphans.needsReview,
          cleanup: {
            terminated: c.orphans.cleanup.terminated,
            removed: c.orphans.cleanup.removed,
            review_pending: c.orphans.needsReview.length,
            failed: c.orphans.cleanup.failed,
          },
        }
      : null,
    live_at: c.liveAt ?? null,
    fail_reason: c.failReason ?? null,
    dismissed_at: c.dismissedAt ?? null,
  };
  view.stage_text = stageText(view);
  return view;
}

/** Every recovery run (of one installation, when given), newest first. */
export async function recoveryRuns(store: EventStore, installationId?: string): Promise<ActorOf<'recovery'>[]> {
  const runs = await listActorsOf(
    store,
    'recovery',
    (r) => installationId === undefined || r.context.installationId === installationId,
  );
  return runs.sort((x, y) => y.context.startedAt.localeCompare(x.context.startedAt));
}

/**
 * This installation's safe mode (from the run that started it), whether a run of it is going on, and
 * its latest run. `fresh` is a
 * run just read from the host: it wins over the read model's copy, which may lag a command just sent.
 */
export async function recoveryStatus(
  store: EventStore,
  installationId: string,
  fresh?: ActorOf<'recovery'>,
): Promise<RecoveryStatusView> {
  const runs = (await recoveryRuns(store, installationId)).map((r) =>
    fresh && r.entityId === fresh.entityId ? fresh : r,
  );
  const safe = runs.find((r) => r.context.safeMode && r.context.safeMode.leftAt === undefined);
  const latest = runs[0];
  return {
    safe_mode: safe ? safeModeView(safe.entityId, safe.context) : null,
    latest: latest ? recoveryView(latest) : null,
    recovering: runs.some((r) => isRecovering(r.value)),
  };
}

/** Orphans still waiting for review, from every run of the installation (they are on its machine). */
export async function orphansForReview(store: EventStore, installationId: string): Promise<OrphanView[]> {
  return (await recoveryRuns(store, installationId)).flatMap((r) =>
    (r.context.orphans?.needsReview ?? []).map((i) => ({ ...i, recovery_id: r.entityId })),
  );
}

/** A live terminal's latest checkpoint: the checkpoints read model, projected from the terminal's events. */
export function checkpointView(a: ActorOf<'terminal'>): CheckpointView {
  const c = a.context;
  return {
    terminal_id: a.entityId,
    lane_id: c.laneId,
    session_id: c.sessionId,
    tmux_session: c.tmuxSession ?? null,
    cwd: c.cwd ?? null,
    taken_at: c.checkpoint?.at ?? null,
    bytes: c.checkpoint?.bytes ?? null,
    scrollback_bytes: c.checkpoint?.scrollbackBytes ?? null,
    digest: c.checkpoint?.digest ?? null,
  };
}
