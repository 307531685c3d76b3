import {
  actorRef,
  type LiveSessionStatus,
  type LiveSessionView,
  type TaskRunStatus,
  type TaskRunView,
} from '@tether/contracts';
import type { ActorOf } from './actor-reads.ts';

const RUN_STATUS: Record<string, TaskRunStatus> = {
  queued: 'queued',
  running: 'running',
  paused: 'paused',
  cancelling: 'cancelling',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};
const ENDED_RUN = new Set<TaskRunStatus>(['succeeded', 'failed', 'cancelled']);

/** The live session id of a task run: one per run, derived, so enabling twice names the same actor. */
export const liveSessionIdOf = (taskRunId: string) => `ls-${taskRunId}`;

/**
 * A live session as every surface shows it. `readOnly` is the attach information the caller may see
 * (tmate's read-only endpoints, unsealed by the caller's capability); read-write endpoints never are.
 */
export function liveSessionView(
  a: ActorOf<'liveSession'>,
  now: number,
  readOnly: Record<string, string> = {},
): LiveSessionView {
  const c = a.context;
  const status = (a.value === 'absent' ? 'disabled' : String(a.value)) as LiveSessionStatus;
  const up = status === 'starting' || status === 'ready';
  return {
    live_session_id: a.entityId,
    task_run_id: c.taskRunId,
    terminal_id: c.terminalId,
    provider: c.provider,
    status,
    owner: actorRef(c.owner),
    share_id: c.shareId ?? null,
    started_at: c.startedAt,
    ready_at: c.readyAt ?? null,
    expires_at: c.expiresAt,
    ms_left: up ? Math.max(0, Date.parse(c.expiresAt) - now) : null,
    ttl_ms: c.ttlMs,
    rw_ttl_ms: c.rwTtlMs,
    allow_web: c.allowWeb,
    last_heartbeat_at: c.lastHeartbeatAt ?? null,
    heartbeat_due_at: c.heartbeatDueAt ?? null,
    grants: c.grants.map((g) => ({
      to: actorRef(g.to),
      participant_id: g.participantId,
      granted_at: g.grantedAt,
      expires_at: g.expiresAt,
      ms_left: Math.max(0, Date.parse(g.expiresAt) - now),
    })),
    ended: c.endedAt ? { status, reason: c.endReason ?? status, at: c.endedAt, by: c.endedBy ?? '' } : null,
    attach: {
      read_only: readOnly,
      how:
        c.provider === 'native'
          ? `each person gets their own read-only link: POST /v1/task-runs/${c.taskRunId}/live-session (or \`tether task watch ${c.taskRunId}\`)`
          : 'tmate: the read-only endpoints above; read-write ones only through grant-write',
    },
  };
}

/** A task run as every surface shows it, with its live session when it has one. */
export function taskRunView(a: ActorOf<'taskRun'>, live?: LiveSessionView): TaskRunView {
  const c = a.context;
  const status = RUN_STATUS[String(a.value)] ?? 'queued';
  return {
    task_run_id: a.entityId,
    lane_id: c.laneId,
    name: c.name,
    command: c.command,
    status,
    started_by: actorRef(c.startedBy),
    terminal_id: c.terminalId,
    session_id: c.sessionId,
    queued_at: c.queuedAt,
    started_at: c.startedAt ?? null,
    agent_pid: c.agentPid ?? null,
    inbox_path: c.inboxPath ?? null,
    control_path: c.controlPath ?? null,
    control_seq: c.controlSeq,
    pause: c.pause
      ? {
          mode: c.pause.mode,
          by: c.pause.by,
          at: c.pause.at,
          reason: c.pause.reason ?? null,
          honoured_at: c.pause.honouredAt ?? null,
        }
      : null,
    takeover: c.takeover ? { by: c.takeover.by, at: c.takeover.at, reason: c.takeover.reason ?? null } : null,
    messages: c.messages,
    exit: c.exit ?? null,
    ended: ENDED_RUN.has(status)
      ? { status, reason: c.endReason ?? null, at: c.endedAt ?? '', by: c.endedBy ?? '' }
      : null,
    live_session_id: liveSessionIdOf(a.entityId),
    live_session: live ?? null,
  };
}
