import { z } from 'zod';
import { Token } from '../ids.ts';
import { ActorRefText } from '../identity.ts';
import { LiveProvider, OperatorMessageText, PauseMode, TaskCommand } from '../entities/live.ts';
import { ParticipantLink } from './sharing.ts';

// HTTP bodies and views of task runs and their live sessions; the same shapes are the `result` of the
// NATS commands.

const ttl = z
  .number()
  .int()
  .positive()
  .max(7 * 86_400_000);

export const TaskRunBody = z
  .object({
    lane_id: Token,
    /** Shown in lists and on the dashboard card (default: the program's name). */
    name: z.string().min(1).max(128).optional(),
    command: TaskCommand,
    /** Start a live session with the run (default TETHER_LIVE_ENABLED). */
    live: z.boolean().optional(),
  })
  .strict();
export const LiveEnableBody = z.object({ task_run_id: Token, provider: LiveProvider.optional() }).strict();
export const GrantLiveWriteBody = z
  .object({
    /** Who may type ("kind:id"); default: the caller. */
    to: ActorRefText.optional(),
    /** Default TETHER_LIVE_RW_TTL. */
    ttl_ms: ttl.optional(),
  })
  .strict();
export const TakeoverBody = z
  .object({ mode: PauseMode.default('hard'), reason: z.string().min(1).max(1_000).optional() })
  .strict();
/** POST /v1/task-runs/{id}/control: one body for every control action. */
export const TaskControlBody = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('pause'),
      mode: PauseMode.default('soft'),
      reason: z.string().min(1).max(1_000).optional(),
    })
    .strict(),
  z.object({ action: z.literal('resume'), reason: z.string().min(1).max(1_000).optional() }).strict(),
  z
    .object({
      action: z.literal('takeover'),
      mode: PauseMode.default('hard'),
      reason: z.string().min(1).max(1_000).optional(),
    })
    .strict(),
  z.object({ action: z.literal('release'), summary: OperatorMessageText }).strict(),
  z.object({ action: z.literal('cancel'), reason: z.string().min(1).max(1_000).optional() }).strict(),
]);
export type TaskControlBody = z.infer<typeof TaskControlBody>;
export const OperatorMessageBody = z.object({ message: OperatorMessageText }).strict();
/** POST /v1/task-runs/{id}/live-session/revoke: the write grants only, or the whole session. */
export const LiveRevokeBody = z
  .object({
    scope: z.enum(['write', 'session']),
    /** scope "write": one person ("kind:id"); default everyone. */
    to: ActorRefText.optional(),
    reason: z.string().min(1).max(1_000).optional(),
  })
  .strict();

/** Task-run and live-session commands that run across entities; on NATS like any other command. */
export const taskRunApplicationCommands = {
  run: {
    data: TaskRunBody,
    creates: true,
    summary:
      'Start an agent in a lane, in a tether terminal laid out as agent | task log | inbox | shell, watched from its first line',
  },
  takeover: {
    data: TakeoverBody,
    needsEntityId: true,
    summary:
      'Take the keyboard of a run (entityId: the run): the agent is paused, its input held, and the caller gets a write grant (its link is in the reply, once)',
  },
};
export const liveSessionApplicationCommands = {
  enable: {
    data: LiveEnableBody,
    creates: true,
    summary:
      "Start a task run's live session (idempotent: enabling again returns it); the reply carries the caller's own read-only link",
  },
  grantWrite: {
    data: GrantLiveWriteBody,
    needsEntityId: true,
    summary:
      'Let one person type in a READY live session until the grant expires; their read-write link is in the reply, once',
  },
};

export const TaskRunStatus = z.enum(['queued', 'running', 'paused', 'cancelling', 'succeeded', 'failed', 'cancelled']);
export type TaskRunStatus = z.infer<typeof TaskRunStatus>;
export const LiveSessionStatus = z.enum(['disabled', 'starting', 'ready', 'revoked', 'ended', 'error']);
export type LiveSessionStatus = z.infer<typeof LiveSessionStatus>;

export const LiveGrantView = z.object({
  to: z.string(),
  participant_id: z.string(),
  granted_at: z.string(),
  expires_at: z.string(),
  ms_left: z.number().int(),
});

export const LiveSessionView = z.object({
  live_session_id: z.string(),
  task_run_id: z.string(),
  terminal_id: z.string(),
  provider: LiveProvider,
  status: LiveSessionStatus,
  owner: z.string(),
  share_id: z.string().nullable(),
  started_at: z.string(),
  ready_at: z.string().nullable(),
  expires_at: z.string(),
  ms_left: z.number().int().nullable(),
  ttl_ms: z.number().int(),
  rw_ttl_ms: z.number().int(),
  allow_web: z.boolean(),
  last_heartbeat_at: z.string().nullable(),
  heartbeat_due_at: z.string().nullable(),
  grants: z.array(LiveGrantView),
  /** Why it is in error, or how it ended. */
  ended: z.object({ status: LiveSessionStatus, reason: z.string(), at: z.string(), by: z.string() }).nullable(),
  /**
   * Read-only attach information: tmate's ssh (and web, where allowed) endpoints for those who may
   * watch; for native sessions, how to get one's own link. Read-write endpoints are never here.
   */
  attach: z.object({ read_only: z.record(z.string(), z.string()), how: z.string() }),
});
export type LiveSessionView = z.infer<typeof LiveSessionView>;

export const TaskRunView = z.object({
  task_run_id: z.string(),
  lane_id: z.string(),
  name: z.string(),
  command: z.array(z.string()),
  status: TaskRunStatus,
  started_by: z.string(),
  terminal_id: z.string(),
  session_id: z.string(),
  queued_at: z.string(),
  started_at: z.string().nullable(),
  agent_pid: z.number().int().nullable(),
  inbox_path: z.string().nullable(),
  control_path: z.string().nullable(),
  /** Every control action bumps it; the agent's control file carries it. */
  control_seq: z.number().int(),
  pause: z
    .object({
      mode: PauseMode,
      by: z.string(),
      at: z.string(),
      reason: z.string().nullable(),
      honoured_at: z.string().nullable(),
    })
    .nullable(),
  takeover: z.object({ by: z.string(), at: z.string(), reason: z.string().nullable() }).nullable(),
  messages: z.number().int(),
  exit: z.object({ code: z.number().int().nullable(), signal: z.string().nullable() }).nullable(),
  ended: z.object({ status: TaskRunStatus, reason: z.string().nullable(), at: z.string(), by: z.string() }).nullable(),
  live_session_id: z.string(),
  live_session: LiveSessionView.nullable(),
});
export type TaskRunView = z.infer<typeof TaskRunView>;

/** The reply of taskRun.run, liveSession.enable, grantWrite and takeover: the caller's own link, shown once. */
export const LiveLinkReply = z.object({
  task_run: TaskRunView,
  /** native: the caller's read-only link (enable, run), or the grantee's read-write one (grantWrite, takeover). */
  link: ParticipantLink.nullable(),
  /** tmate: read-write endpoints, for the grantee only. */
  endpoints: z.record(z.string(), z.string()).nullable(),
});
export type LiveLinkReply = z.infer<typeof LiveLinkReply>;

/** An operator's message as the inbox file and tether.task.<id>.inbox carry it. */
export const OperatorMessage = z.object({
  ts: z.string(),
  actor: z.string(),
  message: z.string(),
  task_run_id: z.string(),
  seq: z.number().int(),
});
export type OperatorMessage = z.infer<typeof OperatorMessage>;

/** What the agent's control file (TETHER_TASK_CONTROL) holds; an agent honours it at its checkpoints. */
export const TaskControlFile = z.object({
  state: z.enum(['running', 'paused', 'cancelled']),
  mode: PauseMode.nullable(),
  seq: z.number().int(),
  reason: z.string().nullable(),
  by: z.string().nullable(),
  at: z.string(),
});
export type TaskControlFile = z.infer<typeof TaskControlFile>;

export const TaskRunListQuery = z
  .object({ lane_id: Token.optional(), live: z.enum(['true', 'false']).optional() })
  .strict();
