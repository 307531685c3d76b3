import { z } from 'zod';
import {
  HarnessStatusView,
  Items,
  LaneCleanupBody,
  LaneCreateBody,
  LaneView,
  SessionEnsureBody,
  SessionView,
  TerminalSpawnBody,
  TerminalView,
} from '../api/control-plane.ts';
import {
  ApprovalApproveBody,
  ApprovalDenyBody,
  ApprovalView,
  GrantWriteBody,
  ParticipantInviteBody,
  ParticipantLink,
  ParticipantView,
  ReasonBody,
  ShareCreateBody,
  ShareCreated,
  ShareExtendBody,
  ShareLinksView,
  ShareSwitchBody,
  ShareView,
  shareApplicationCommands,
} from '../api/sharing.ts';
import {
  CredentialCreateBody,
  CredentialCreated,
  CredentialRevokeBody,
  CredentialView,
  LoginLink,
  Me,
} from '../api/identity.ts';
import {
  HandoffAcceptBody,
  HandoffCancelBody,
  HandoffEnvironment,
  HandoffListQuery,
  HandoffRequestBody,
  HandoffView,
  handoffApplicationCommands,
} from '../api/handoff.ts';
import {
  CheckpointView,
  CleanReviewBody,
  LeaveSafeModeBody,
  OrphanView,
  RecoveryParams,
  RecoveryStatusView,
  RecoveryView,
} from '../api/recovery.ts';
import {
  GrantLiveWriteBody,
  LiveEnableBody,
  LiveLinkReply,
  LiveRevokeBody,
  LiveSessionView,
  OperatorMessage,
  OperatorMessageBody,
  TaskControlBody,
  TaskRunBody,
  TaskRunListQuery,
  TaskRunView,
  taskRunApplicationCommands,
} from '../api/live.ts';
import { PolicyReloadBody, PolicyView } from '../api/policy.ts';
import { AuditList, AuditQuery, AuditVerdict } from '../audit.ts';
import { CommandAccepted, CommandRequest } from '../command.ts';
import type { ErrorCode } from '../errors.ts';
import { Token } from '../ids.ts';
import {
  ActorList,
  ActorState,
  EntityKind,
  Health,
  OpenApiReply,
  ProjectionsStatus,
  ShareListQuery,
  ApprovalListQuery,
  EntityReplay,
  Page,
  ReplayQuery,
  EventRecord,
  StreamActor,
} from './schemas.ts';

/** Request headers the gateway reads, and what each means. */
export const requestHeaders = {
  'Idempotency-Key': 'Command id; a resend returns the original result',
  'X-Correlation-Id': 'Correlation id of the command and the events it causes (default: the command id)',
  'X-Tether-Csrf': 'A dashboard session (cookie) sends its csrf_token (GET /v1/me) with every POST',
  'Last-Event-ID':
    'The `id` of the last server-sent event received: the stream resumes after it (browsers send it when they reconnect)',
} as const;
export type RequestHeader = keyof typeof requestHeaders;

/** A reply that is not a JSON document: its content type and, for a stream, the `data` of each event type. */
export interface RawReply {
  contentType: 'text/plain' | 'text/event-stream' | 'application/x-asciicast';
  events?: Record<string, z.ZodType>;
}

/** One HTTP route: everything the gateway registers and the OpenAPI document says about it. */
export interface RouteSpec {
  method: 'GET' | 'POST';
  /** OpenAPI form: /v1/shares/{share}. */
  path: string;
  summary: string;
  /** More than the summary, where a client needs it (e.g. the event format of a stream). */
  description?: string;
  /** Path parameters, one key per `{param}` of the path. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; required: boolean };
  /** The success body: a zod schema for JSON, else a content type. */
  reply: z.ZodType | RawReply;
  /** 201 where a POST creates something; a resend with the same Idempotency-Key answers the same status. */
  status: 200 | 201;
  headers?: readonly RequestHeader[];
  /** Error codes a request may be refused with (default: every code a request can cause). */
  errors?: readonly ErrorCode[];
  /** Served without a credential (health, this document); every other route needs one. */
  public?: true;
}

/** The largest request body the gateway reads; a larger one is answered 413 and changes nothing. */
export const BODY_LIMIT_BYTES = 1_048_576;

const command = ['Idempotency-Key', 'X-Correlation-Id'] as const;
const none: readonly ErrorCode[] = [];
/** Reads of the store answer UNAVAILABLE while NATS is away. */
const storeErrors: readonly ErrorCode[] = ['UNAVAILABLE'];
const entityErrors: readonly ErrorCode[] = ['INVALID_COMMAND', 'UNKNOWN_COMMAND', 'NOT_FOUND', ...storeErrors];

const actorParams = z.object({ entity: EntityKind, entityId: Token });
const wsParams = z.object({ ws: z.string() });
const laneParams = wsParams.extend({ lane: z.string() });
const shareParams = z.object({ share: Token });
const participantParams = shareParams.extend({ participant: Token });
const approvalParams = z.object({ approval: Token });
const handoffParams = z.object({ handoff: Token });
const taskRunParams = z.object({ run: Token });
const recordingParams = z.object({ terminal: Token });
const body = (schema: z.ZodType, required = true) => ({ schema, required });

/**
 * Every HTTP route of the gateway, keyed by operation id. The gateway registers one handler per
 * operation id; the OpenAPI document is generated from this table. `command` is one handler for
 * every entity verb; the document lists it once per public command (operation `<entity>.<verb>`,
 * see publicCommands) and once more at its own path for the rest, which it only refuses.
 */
export const routes = {
  command: {
    method: 'POST',
    path: '/v1/commands/{entity}/{verb}',
    summary: 'Send a command to an entity (201 where the verb creates one); also on NATS tether.cmd.<entity>.<verb>',
    params: z.object({ entity: EntityKind, verb: z.string() }),
    body: body(CommandRequest),
    reply: CommandAccepted,
    status: 200,
    headers: ['Idempotency-Key', 'X-Correlation-Id'],
  },
  'entity.get': {
    method: 'GET',
    path: '/v1/entities/{entity}/{entityId}',
    summary: 'Current state and context of one actor (replayed from its events)',
    params: actorParams,
    reply: ActorState,
    status: 200,
    errors: entityErrors,
  },
  'entity.events': {
    method: 'GET',
    path: '/v1/entities/{entity}/{entityId}/events',
    summary: 'Every event of one actor, oldest first',
    params: actorParams,
    reply: z.array(EventRecord),
    status: 200,
    errors: entityErrors,
  },
  'entity.replay': {
    method: 'GET',
    path: '/v1/entities/{entity}/{entityId}/replay',
    summary:
      "One actor's events, oldest first, each with the state and context after it (folded with its machine; secrets left out); up to `to_seq`",
    params: actorParams,
    query: ReplayQuery,
    reply: EntityReplay,
    status: 200,
    errors: entityErrors,
  },
  'entity.list': {
    method: 'GET',
    path: '/v1/entities/{entity}',
    summary: 'Every actor of one entity kind, from the actors read model',
    params: z.object({ entity: EntityKind }),
    reply: ActorList,
    status: 200,
    errors: ['UNKNOWN_COMMAND', ...storeErrors],
  },
  'projections.list': {
    method: 'GET',
    path: '/v1/projections',
    summary: 'Read models and their lag',
    reply: ProjectionsStatus,
    status: 200,
    errors: storeErrors,
  },
  metrics: {
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics (projection lag, stream head)',
    reply: { contentType: 'text/plain' },
    status: 200,
    errors: storeErrors,
  },
  healthz: {
    method: 'GET',
    path: '/healthz',
    summary: 'Liveness and store kind',
    reply: Health,
    status: 200,
    errors: none,
    public: true,
  },
  openapi: {
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document',
    reply: OpenApiReply,
    status: 200,
    errors: none,
    public: true,
  },
  stream: {
    method: 'GET',
    path: '/v1/stream',
    summary: 'Live read model as server-sent events (the dashboard): a snapshot, `ready`, then every change',
    description:
      'Entities lane, session, terminal, harness, share, approval, handoff, recovery, taskRun and liveSession. An `actor` event per ' +
      'actor as it is now (share secrets left out) or `{entity, entityId, deleted: true}`, its `id` the revision of the actors ' +
      'read model it shows. A new connection first gets a snapshot: every current actor except those that ended longer ago ' +
      'than TETHER_STREAM_ENDED_WINDOW_MS (default 1 h: ended shares, closed lanes, terminated sessions, closed terminals, ' +
      'decided approvals, finished handoffs, task runs and live sessions; list them with the API); then one `ready` event ' +
      '(its `id` the revision it is current to); then every change. A reconnect with `Last-Event-ID` gets only the changes ' +
      'after that revision (no snapshot), then `ready`; one the stream cannot resume after gets `reset` (drop what you hold), ' +
      'then a snapshot. A `: keepalive` comment every 15 s; `retry: 1000`. The credential is checked again every second: ' +
      'once it no longer works (revoked, expired, signed out) an `unauthenticated` event ends the stream.',
    reply: {
      contentType: 'text/event-stream',
      events: {
        actor: StreamActor,
        ready: z.object({}).strict(),
        reset: z.object({}).strict(),
        unauthenticated: z.object({}).strict(),
      },
    },
    status: 200,
    headers: ['Last-Event-ID'],
    errors: none,
  },
  'lanes.create': {
    method: 'POST',
    path: '/v1/workspaces/{ws}/lanes',
    summary: 'Create a lane; answers once its worktree exists (or provisioning failed)',
    params: wsParams,
    body: body(LaneCreateBody),
    reply: LaneView,
    status: 201,
    headers: command,
  },
  'lanes.list': {
    method: 'GET',
    path: '/v1/workspaces/{ws}/lanes',
    summary: 'Lanes of the workspace',
    params: wsParams,
    reply: Items(LaneView),
    status: 200,
  },
  'lanes.get': {
    method: 'GET',
    path: '/v1/workspaces/{ws}/lanes/{lane}',
    summary: 'One lane',
    params: laneParams,
    reply: LaneView,
    status: 200,
  },
  'lanes.attach': {
    method: 'POST',
    path: '/v1/workspaces/{ws}/lanes/{lane}/attach',
    summary: 'Attach to a lane (ready → running)',
    params: laneParams,
    reply: LaneView,
    status: 200,
    headers: command,
  },
  'lanes.cleanup': {
    method: 'POST',
    path: '/v1/workspaces/{ws}/lanes/{lane}/cleanup',
    summary: 'End a lane: close its terminals, end its session, remove its worktree',
    params: laneParams,
    body: body(LaneCleanupBody, false),
    reply: LaneView,
    status: 200,
    headers: command,
  },
  'sessions.ensure': {
    method: 'POST',
    path: '/v1/workspaces/{ws}/lanes/{lane}/sessions',
    summary: "Return the lane's active session or start one (also tether.cmd.session.ensure)",
    params: laneParams,
    body: body(SessionEnsureBody),
    reply: SessionView,
    status: 200,
    headers: command,
  },
  'sessions.list': {
    method: 'GET',
    path: '/v1/workspaces/{ws}/lanes/{lane}/sessions',
    summary: 'Sessions of the lane',
    params: laneParams,
    reply: Items(SessionView),
    status: 200,
  },
  'terminals.spawn': {
    method: 'POST',
    path: '/v1/workspaces/{ws}/lanes/{lane}/terminals',
    summary: "Spawn a shell in tmux in the lane's worktree",
    params: laneParams,
    body: body(TerminalSpawnBody),
    reply: TerminalView,
    status: 201,
    headers: command,
  },
  'terminals.list': {
    method: 'GET',
    path: '/v1/workspaces/{ws}/lanes/{lane}/terminals',
    summary: 'Terminals of the lane',
    params: laneParams,
    reply: Items(TerminalView),
    status: 200,
  },
  'harness.status': {
    method: 'GET',
    path: '/v1/harness/cliproxy/status',
    summary: 'Harness status and the route sessions get',
    reply: HarnessStatusView,
    status: 200,
  },
  'harness.check': {
    method: 'POST',
    path: '/v1/harness/cliproxy/check',
    summary: 'Check the harness now',
    reply: HarnessStatusView,
    status: 200,
  },
  'shares.create': {
    method: 'POST',
    path: '/v1/shares',
    summary: shareApplicationCommands.create.summary,
    body: body(ShareCreateBody),
    reply: ShareCreated,
    status: 201,
    headers: command,
  },
  'shares.list': {
    method: 'GET',
    path: '/v1/shares',
    summary:
      'Shares, newest first, a page at a time: live or ended (history), filtered by terminal, lane, status, end reason, backend, owner and time, or searched by id prefix, participant name or reason',
    query: ShareListQuery,
    reply: Page(ShareView),
    status: 200,
  },
  'shares.get': {
    method: 'GET',
    path: '/v1/shares/{share}',
    summary: 'One share',
    params: shareParams,
    reply: ShareView,
    status: 200,
  },
  'shares.links': {
    method: 'GET',
    path: '/v1/shares/{share}/links',
    summary: "A tmate/upterm share's links, for its owner only",
    params: shareParams,
    reply: ShareLinksView,
    status: 200,
  },
  'shares.extend': {
    method: 'POST',
    path: '/v1/shares/{share}/extend',
    summary: 'Add time (owner; the time left stays within the maximum TTL)',
    params: shareParams,
    body: body(ShareExtendBody),
    reply: ShareView,
    status: 200,
    headers: command,
  },
  'shares.revoke': {
    method: 'POST',
    path: '/v1/shares/{share}/revoke',
    summary: 'End the share now; every participant is disconnected with the reason',
    params: shareParams,
    body: body(ReasonBody, false),
    reply: ShareView,
    status: 200,
    headers: command,
  },
  'shares.switch': {
    method: 'POST',
    path: '/v1/shares/{share}/switch',
    summary: shareApplicationCommands.switch.summary,
    params: shareParams,
    body: body(ShareSwitchBody),
    reply: ShareCreated,
    status: 201,
    headers: command,
  },
  'participants.list': {
    method: 'GET',
    path: '/v1/shares/{share}/participants',
    summary: 'Participants of the share',
    params: shareParams,
    reply: Items(ParticipantView),
    status: 200,
  },
  'participants.invite': {
    method: 'POST',
    path: '/v1/shares/{share}/participants',
    summary: shareApplicationCommands.invite.summary,
    params: shareParams,
    body: body(ParticipantInviteBody),
    reply: ParticipantLink,
    status: 201,
    headers: command,
  },
  'participants.grantWrite': {
    method: 'POST',
    path: '/v1/shares/{share}/participants/{participant}/grant-write',
    summary: 'Let one participant type until the grant expires (owner; write shares only)',
    params: participantParams,
    body: body(GrantWriteBody, false),
    reply: ShareView,
    status: 200,
    headers: command,
  },
  'participants.revokeWrite': {
    method: 'POST',
    path: '/v1/shares/{share}/participants/{participant}/revoke-write',
    summary: 'Make one participant read-only again (owner)',
    params: participantParams,
    body: body(ReasonBody, false),
    reply: ShareView,
    status: 200,
    headers: command,
  },
  'participants.kick': {
    method: 'POST',
    path: '/v1/shares/{share}/participants/{participant}/kick',
    summary: 'Disconnect one participant and invalidate their link (owner)',
    params: participantParams,
    body: body(ReasonBody, false),
    reply: ShareView,
    status: 200,
    headers: command,
  },
  me: {
    method: 'GET',
    path: '/v1/me',
    summary: 'Who the credential of this request speaks for, and a dashboard session its CSRF token',
    reply: Me,
    status: 200,
    errors: none,
  },
  'credentials.list': {
    method: 'GET',
    path: '/v1/credentials',
    summary: 'Every credential (never a token or its hash), newest first',
    reply: Items(CredentialView),
    status: 200,
    errors: storeErrors,
  },
  'credentials.create': {
    method: 'POST',
    path: '/v1/credentials',
    summary: 'Create a credential for an actor with a role (operators); the reply carries its token, shown once',
    body: body(CredentialCreateBody),
    reply: CredentialCreated,
    status: 201,
    headers: command,
  },
  'credentials.revoke': {
    method: 'POST',
    path: '/v1/credentials/{credential}/revoke',
    summary: 'Revoke a credential (its holder or an operator): it stops working at once',
    params: z.object({ credential: Token }),
    body: body(CredentialRevokeBody, false),
    reply: CredentialView,
    status: 200,
    headers: command,
  },
  'loginLinks.create': {
    method: 'POST',
    path: '/v1/login-links',
    summary: 'A one-time dashboard sign-in link for the caller (works once, for 15 minutes)',
    reply: LoginLink,
    status: 201,
    headers: command,
  },
  'approvals.list': {
    method: 'GET',
    path: '/v1/approvals',
    summary:
      'Approvals of shares and handoffs held by a policy rule, newest first, a page at a time; filtered by status, searched by id prefix, requester or reason',
    query: ApprovalListQuery,
    reply: Page(ApprovalView),
    status: 200,
  },
  'approvals.get': {
    method: 'GET',
    path: '/v1/approvals/{approval}',
    summary: 'One approval',
    params: approvalParams,
    reply: ApprovalView,
    status: 200,
  },
  'approvals.approve': {
    method: 'POST',
    path: '/v1/approvals/{approval}/approve',
    summary: 'Approve (a human other than the requester)',
    params: approvalParams,
    body: body(ApprovalApproveBody, false),
    reply: ApprovalView,
    status: 200,
    headers: command,
  },
  'approvals.deny': {
    method: 'POST',
    path: '/v1/approvals/{approval}/deny',
    summary: 'Deny with a reason',
    params: approvalParams,
    body: body(ApprovalDenyBody),
    reply: ApprovalView,
    status: 200,
    headers: command,
  },
  'handoffs.request': {
    method: 'POST',
    path: '/v1/handoffs',
    summary: handoffApplicationCommands.request.summary,
    description:
      'Answers once the handoff is offered to its receiver (its context captured), awaits approval, or failed; ' +
      'a handoff the policy denies is refused (409 NOT_ALLOWED, reason HANDOFF_DENIED) and recorded as denied.',
    body: body(HandoffRequestBody),
    reply: HandoffView,
    status: 201,
    headers: command,
  },
  'handoffs.list': {
    method: 'GET',
    path: '/v1/handoffs',
    summary: 'Handoffs, optionally of one terminal, to one actor, or only live ones',
    query: HandoffListQuery,
    reply: Items(HandoffView),
    status: 200,
  },
  'handoffs.inbox': {
    method: 'GET',
    path: '/v1/handoffs/inbox',
    summary: 'Live handoffs whose receiver is the caller (its credential): what to accept',
    reply: Items(HandoffView),
    status: 200,
  },
  'handoffs.get': {
    method: 'GET',
    path: '/v1/handoffs/{handoff}',
    summary: 'One handoff',
    params: handoffParams,
    reply: HandoffView,
    status: 200,
  },
  'handoffs.environment': {
    method: 'GET',
    path: '/v1/handoffs/{handoff}/environment',
    summary:
      "The giver's environment values (sealed at capture), for the receiver only, once it has accepted (it could read them in the shell)",
    params: handoffParams,
    reply: HandoffEnvironment,
    status: 200,
  },
  'handoffs.accept': {
    method: 'POST',
    path: '/v1/handoffs/{handoff}/accept',
    summary:
      "The receiver takes the keyboard; answers once the terminal's writer changed (completed) or the handoff failed",
    params: handoffParams,
    body: body(HandoffAcceptBody, false),
    reply: HandoffView,
    status: 200,
    headers: command,
  },
  'handoffs.cancel': {
    method: 'POST',
    path: '/v1/handoffs/{handoff}/cancel',
    summary: 'The requester or the receiver calls the handoff off (before it is accepted)',
    params: handoffParams,
    body: body(HandoffCancelBody, false),
    reply: HandoffView,
    status: 200,
    headers: command,
  },
  'taskRuns.run': {
    method: 'POST',
    path: '/v1/task-runs',
    summary: taskRunApplicationCommands.run.summary,
    description:
      'Answers once the agent runs in its terminal (or could not start). With `live` (default TETHER_LIVE_ENABLED) its live ' +
      "session starts too, and the reply carries the caller's own read-only link (native), shown once.",
    body: body(TaskRunBody),
    reply: LiveLinkReply,
    status: 201,
    headers: command,
  },
  'taskRuns.list': {
    method: 'GET',
    path: '/v1/task-runs',
    summary: 'Task runs, optionally of one lane, or only those whose live session is up',
    query: TaskRunListQuery,
    reply: Items(TaskRunView),
    status: 200,
    // A malformed query (say `live=maybe`) is refused 400, like every listing's query.
    errors: ['INVALID_COMMAND', ...storeErrors],
  },
  'taskRuns.get': {
    method: 'GET',
    path: '/v1/task-runs/{run}',
    summary: 'One task run with its live session',
    params: taskRunParams,
    reply: TaskRunView,
    status: 200,
  },
  'taskRuns.control': {
    method: 'POST',
    path: '/v1/task-runs/{run}/control',
    summary:
      "pause (soft: at the agent's next checkpoint; hard: SIGSTOP), resume, takeover (pause + a write grant for the caller, its link in the reply), release (summary to the inbox, then resume) or cancel",
    description:
      'Answers once the control is recorded and, for pause, hard pause and cancel, once the agent honoured it or the wait ran out ' +
      '(`pause.honoured_at` says which). Every action is audited with who, when and why.',
    params: taskRunParams,
    body: body(TaskControlBody),
    reply: LiveLinkReply,
    status: 200,
    headers: command,
  },
  'taskRuns.messages': {
    method: 'GET',
    path: '/v1/task-runs/{run}/operator-messages',
    summary: "The run's operator messages, oldest first (as its inbox file has them)",
    params: taskRunParams,
    reply: Items(OperatorMessage),
    status: 200,
  },
  'taskRuns.message': {
    method: 'POST',
    path: '/v1/task-runs/{run}/operator-messages',
    summary:
      'Send the agent a message: persisted as an event, appended to its inbox file (TETHER_TASK_INBOX), shown in the inbox pane and published on tether.task.<run>.inbox',
    params: taskRunParams,
    body: body(OperatorMessageBody),
    reply: OperatorMessage,
    status: 201,
    headers: command,
  },
  'liveSessions.enable': {
    method: 'POST',
    path: '/v1/task-runs/{run}/live-session',
    summary:
      "Start the run's live session (idempotent); answers once it is READY or in ERROR, with the caller's own read-only link (native)",
    params: taskRunParams,
    body: body(LiveEnableBody.omit({ task_run_id: true }), false),
    reply: LiveLinkReply,
    status: 200,
    headers: command,
  },
  'liveSessions.get': {
    method: 'GET',
    path: '/v1/task-runs/{run}/live-session',
    summary: "The run's live session: status, heartbeat, TTL, write grants and read-only attach information",
    params: taskRunParams,
    reply: LiveSessionView,
    status: 200,
  },
  'liveSessions.grantWrite': {
    method: 'POST',
    path: '/v1/task-runs/{run}/live-session/grant-write',
    summary:
      'Let one person type until the grant expires (default TETHER_LIVE_RW_TTL); refused unless the session is READY. Their read-write link is in the reply, once',
    params: taskRunParams,
    body: body(GrantLiveWriteBody, false),
    reply: LiveLinkReply,
    status: 200,
    headers: command,
  },
  'liveSessions.revoke': {
    method: 'POST',
    path: '/v1/task-runs/{run}/live-session/revoke',
    summary: 'Revoke write grants (scope "write": one person or everyone) or the whole session (scope "session")',
    params: taskRunParams,
    body: body(LiveRevokeBody),
    reply: LiveSessionView,
    status: 200,
    headers: command,
  },
  'recordings.get': {
    method: 'GET',
    path: '/v1/recordings/{terminal}',
    summary:
      "A terminal's recording as asciicast v2 (a task run's terminal or a shared one), for those allowed to watch it",
    params: recordingParams,
    reply: { contentType: 'application/x-asciicast' },
    status: 200,
  },
  'audit.list': {
    method: 'GET',
    path: '/v1/audit',
    summary:
      'Audit records (who, when, why; redacted, hash-chained), newest `limit` or the page after `after`, of one entity or one lane (`lane_id`); also on NATS stream TETHER_AUDIT, tether.audit.<entity>.<verb>',
    query: AuditQuery,
    reply: AuditList,
    status: 200,
  },
  'audit.verify': {
    method: 'GET',
    path: '/v1/audit/verify',
    summary: 'Check the hash chain of the whole audit trail',
    reply: AuditVerdict,
    status: 200,
  },
  'recovery.status': {
    method: 'GET',
    path: '/v1/recovery',
    summary: 'Whether tether runs in safe mode, whether a recovery run is going on, and the latest run',
    reply: RecoveryStatusView,
    status: 200,
    errors: storeErrors,
  },
  'recovery.list': {
    method: 'GET',
    path: '/v1/recovery/runs',
    summary: 'Recovery runs, newest first',
    reply: Items(RecoveryView),
    status: 200,
    errors: storeErrors,
  },
  'recovery.get': {
    method: 'GET',
    path: '/v1/recovery/runs/{recovery}',
    summary: 'One recovery run: its stage, each terminal’s outcome, the orphans it found',
    params: RecoveryParams,
    reply: RecoveryView,
    status: 200,
  },
  'recovery.review': {
    method: 'GET',
    path: '/v1/recovery/review',
    summary: 'Orphans that need review (never cleaned automatically), from every run',
    reply: Items(OrphanView),
    status: 200,
    errors: storeErrors,
  },
  'recovery.cleanReview': {
    method: 'POST',
    path: '/v1/recovery/runs/{recovery}/clean',
    summary:
      'Clean orphans that need review (all of the run’s, or the listed ids): processes ended, worktrees removed (audited)',
    params: RecoveryParams,
    body: body(CleanReviewBody),
    reply: RecoveryView,
    status: 200,
    headers: command,
  },
  'recovery.dismiss': {
    method: 'POST',
    path: '/v1/recovery/runs/{recovery}/dismiss',
    summary: 'Dismiss a finished run’s summary on the dashboard',
    params: RecoveryParams,
    reply: RecoveryView,
    status: 200,
    headers: command,
  },
  'recovery.leaveSafeMode': {
    method: 'POST',
    path: '/v1/recovery/safe-mode/leave',
    summary: 'Leave safe mode: share workers, the harness monitor and new terminals start again (audited)',
    body: body(LeaveSafeModeBody),
    reply: RecoveryStatusView,
    status: 200,
    headers: command,
  },
  'checkpoints.list': {
    method: 'GET',
    path: '/v1/checkpoints',
    summary: "Each live terminal's latest checkpoint (cwd, scrollback size, when), never its environment",
    reply: Items(CheckpointView),
    status: 200,
    errors: storeErrors,
  },
  'policy.get': {
    method: 'GET',
    path: '/v1/policy',
    summary:
      'The share policy in force: its file (or the built-in default), rule ids and rules, what it watches (operators)',
    reply: PolicyView,
    status: 200,
    errors: storeErrors,
  },
  'policy.reload': {
    method: 'POST',
    path: '/v1/policy/reload',
    summary:
      'Load the share policy file again (operators; audited): a file that cannot be read or parsed is refused with why, and the policy in force stays',
    body: body(PolicyReloadBody, false),
    reply: PolicyView,
    status: 200,
    headers: command,
  },
} as const satisfies Record<string, RouteSpec>;

export type OperationId = keyof typeof routes;
type Routes = typeof routes;
type Parsed<S> = S extends z.ZodType ? z.output<S> : never;
/** What a handler receives and answers, by operation id: parsed path parameters, query and body, and its reply. */
export type RouteParams<Op extends OperationId> = Routes[Op] extends { params: infer P }
  ? Parsed<P>
  : Record<string, never>;
export type RouteQuery<Op extends OperationId> = Routes[Op] extends { query: infer Q }
  ? Parsed<Q>
  : Record<string, never>;
export type RouteBody<Op extends OperationId> = Routes[Op] extends { body: { schema: infer B } }
  ? Parsed<B>
  : undefined;
export type RouteReply<Op extends OperationId> = Routes[Op]['reply'] extends z.ZodType
  ? z.input<Routes[Op]['reply']>
  : string;

/** The router's form of a route's path: /v1/shares/{share} → /v1/shares/:share. */
export const routerPath = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');

/** Whether a route answers JSON (else `reply` is a content type). */
export const repliesJson = (reply: RouteSpec['reply']): reply is z.ZodType => reply instanceof z.ZodType;
