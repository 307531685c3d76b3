import { z } from 'zod';
import { freeText } from '../free-text.ts';
import { Iso, Token } from '../ids.ts';
import { CheckpointRef } from './recovery.ts';
import type { EntityContract } from './contract.ts';

// Lanes, sessions, terminals and the harness route (seed 004). Worker reports are commands too:
// a process manager acts on a persisted event, then tells the machine what happened.

const reason = freeText(1_000).min(1);
const noData = z.object({}).strict();

export const Transport = z.enum(['cliproxy_harness', 'native_openai']);
export type Transport = z.infer<typeof Transport>;

export const laneContract = {
  create: {
    creates: true,
    summary: 'Create a lane: a git worktree of the workspace repo where an agent works',
    data: z
      .object({
        workspaceId: Token,
        projectContextId: z.string().min(1).max(256),
        displayName: freeText(256).min(1),
      })
      .strict(),
  },
  provisioned: {
    internal: true,
    summary: 'Worker report: the worktree exists',
    data: z.object({ worktreePath: z.string().min(1), branch: z.string().min(1) }).strict(),
  },
  provisionFailed: {
    internal: true,
    summary: 'Worker report: the worktree could not be created',
    data: z.object({ reason }).strict(),
  },
  attach: { summary: 'A client attaches to the lane', data: z.object({ sessionId: Token.optional() }).strict() },
  detach: { summary: 'The last client detaches', data: noData },
  block: { summary: 'Block the lane (waiting on a person or a resource)', data: z.object({ reason }).strict() },
  unblock: { summary: 'Unblock the lane', data: noData },
  bindSession: {
    internal: true,
    summary: "Make a session the lane's one active session (the lane arbitrates races)",
    data: z.object({ sessionId: Token, codexSessionId: Token }).strict(),
  },
  unbindSession: { internal: true, summary: "The lane's session ended", data: z.object({ sessionId: Token }).strict() },
  share: { internal: true, summary: 'A terminal of the lane is shared', data: z.object({ shareId: Token }).strict() },
  unshare: { internal: true, summary: 'No terminal of the lane is shared any more', data: noData },
  cleanup: {
    summary: 'End the lane: close its terminals and remove its worktree',
    data: z.object({ reason: reason.optional() }).strict(),
  },
  cleaned: { internal: true, summary: 'Worker report: terminals closed and worktree removed', data: noData },
  cleanupFailed: { internal: true, summary: 'Worker report: cleanup failed', data: z.object({ reason }).strict() },
  worktreeMissing: {
    internal: true,
    summary: 'Worker report: the worktree vanished from disk',
    data: z.object({ worktreePath: z.string() }).strict(),
  },
} satisfies EntityContract;

/**
 * Claim on a codex session id: at most one active tether session uses it, across all lanes. Only
 * session.ensure claims and the session reaper releases: a claim from outside could free an id that a
 * live session holds.
 */
export const codexSessionContract = {
  claim: {
    upsert: true,
    internal: true,
    summary: 'Step of session.ensure: claim the codex session id for a session',
    data: z.object({ laneId: Token, sessionId: Token }).strict(),
  },
  release: {
    internal: true,
    summary: 'The claiming session ended (session reaper), or an ensure gave the claim back',
    data: z.object({ sessionId: Token }).strict(),
  },
} satisfies EntityContract;

/** A session starts and attaches only through session.ensure, which keeps one per lane and one per codex id. */
export const sessionContract = {
  create: {
    creates: true,
    internal: true,
    summary:
      'Step of session.ensure: register the session its lane bound, on the codex session id it claimed (use session.ensure)',
    data: z
      .object({
        laneId: Token,
        codexSessionId: Token,
        provider: z.literal('codex'),
        transport: Transport,
        degradeReason: freeText(1_000).optional(),
        /** A session without a heartbeat for this long detaches (durable deadline). */
        heartbeatTimeoutMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
      })
      .strict(),
  },
  attached: {
    internal: true,
    summary: 'Step of session.ensure: the session is attached to its transport',
    data: noData,
  },
  detach: { summary: 'Detach the session (it can attach again)', data: noData },
  attach: {
    internal: true,
    summary: 'Step of session.ensure: attach a detached session again, on the route the harness offers now',
    data: z.object({ transport: Transport, degradeReason: freeText(1_000).optional() }).strict(),
  },
  heartbeat: { summary: 'The client is alive', data: noData },
  heartbeatMissed: {
    internal: true,
    summary: 'Timer: no heartbeat within the window; the session detaches',
    data: noData,
  },
  terminate: { summary: 'End the session', data: z.object({ reason: reason.optional() }).strict() },
} satisfies EntityContract;

export const terminalContract = {
  spawn: {
    creates: true,
    summary: 'Spawn a shell in a tmux session in the lane worktree',
    data: z
      .object({
        laneId: Token,
        sessionId: Token,
        title: freeText(256).min(1).optional(),
        /** The task run this terminal shows (its four panes), instead of a shell; only that run's own terminal may name it. */
        taskRunId: Token.optional(),
      })
      .strict(),
  },
  started: {
    internal: true,
    summary: 'Worker report: the shell runs',
    data: z
      .object({
        tmuxSession: z.string(),
        panePid: z.number().int().positive(),
        /** The installation whose tmux server runs it: only that one's recovery restores it. */
        installationId: Token.optional(),
      })
      .strict(),
  },
  spawnFailed: {
    internal: true,
    summary: 'Worker report: the shell could not start',
    data: z.object({ reason }).strict(),
  },
  throttle: {
    internal: true,
    summary: 'Output exceeds the rate limit; output is being dropped',
    data: z.object({ bytesPerSec: z.number().nonnegative() }).strict(),
  },
  unthrottle: { internal: true, summary: 'Output is back under the rate limit', data: noData },
  close: {
    summary: 'Close the terminal: its process group is killed',
    data: z.object({ reason: reason.optional() }).strict(),
  },
  shareOpen: {
    internal: true,
    summary: "Take one of the terminal's share slots (the terminal arbitrates the per-terminal limit)",
    data: z.object({ shareId: Token, limit: z.number().int().positive().max(100) }).strict(),
  },
  shareClose: {
    internal: true,
    summary: 'A share of the terminal ended: its slot is free',
    data: z.object({ shareId: Token }).strict(),
  },
  handoffClaim: {
    internal: true,
    summary: 'A handoff claims the terminal (the terminal lets one handoff at a time go on)',
    data: z.object({ handoffId: Token }).strict(),
  },
  handoffRelease: {
    internal: true,
    summary: "The handoff holding the terminal's claim ended without a transfer",
    data: z.object({ handoffId: Token }).strict(),
  },
  handover: {
    internal: true,
    summary:
      'The handoff holding the claim moves the keyboard: the writer session changes, the old one stays as a read-only watcher',
    data: z.object({ handoffId: Token, fromSessionId: Token, toSessionId: Token }).strict(),
  },
  cwdChanged: {
    internal: true,
    summary: "Checkpointer: the pane's working directory changed (sampled from tmux on activity)",
    data: z.object({ cwd: z.string().min(1).max(4_096) }).strict(),
  },
  checkpointed: {
    internal: true,
    summary: 'Checkpointer: a new snapshot of the terminal (cwd, sealed environment, scrollback) is stored',
    data: CheckpointRef,
  },
  respawned: {
    internal: true,
    summary: 'Recovery: the tmux session was gone; the shell runs again in its checkpoint’s cwd, scrollback first',
    data: z
      .object({
        reason,
        tmuxSession: z.string(),
        panePid: z.number().int().positive(),
        restoredFrom: Iso.nullable(),
        recoveryId: Token,
      })
      .strict(),
  },
  lost: {
    internal: true,
    summary: 'Recovery: the terminal could not come back (its cwd is gone, its checkpoint is corrupt …)',
    data: z.object({ reason, recoveryId: Token }).strict(),
  },
  exited: {
    internal: true,
    summary: 'Worker report: the shell exited by itself',
    data: z.object({ code: z.number().int().nullable(), signal: z.string().nullable() }).strict(),
  },
} satisfies EntityContract;

export const HarnessStatus = z.enum(['healthy', 'degraded', 'unavailable']);
export type HarnessStatus = z.infer<typeof HarnessStatus>;

/** The cliproxy route: declared and checked by tether's harness monitor only, from its settings. */
export const harnessContract = {
  configure: {
    creates: true,
    internal: true,
    summary: 'Harness monitor: declare the harness (null url: not configured) and its anti-flap cooldown',
    data: z.object({ url: z.url().nullable(), cooldownMs: z.number().int().nonnegative().default(10_000) }).strict(),
  },
  reconfigure: {
    internal: true,
    summary:
      'Harness monitor, at start: the configured url (TETHER_HARNESS_URL) changed; the route starts over from its first health check',
    data: z.object({ url: z.url().nullable(), cooldownMs: z.number().int().nonnegative().default(10_000) }).strict(),
  },
  'status.changed': {
    internal: true,
    summary: 'Health monitor: the harness status changed; the route follows it',
    data: z
      .object({
        status: HarnessStatus,
        reason: freeText(1_000).min(1).optional(),
        latencyMs: z.number().nonnegative().optional(),
      })
      .strict()
      .refine((d) => d.status === 'healthy' || d.reason !== undefined, {
        message: 'a degraded or unavailable status needs a reason',
        path: ['reason'],
      }),
  },
} satisfies EntityContract;

/** Commands that span entities, run by application services; on NATS like any other command. */
export const sessionEnsure = {
  summary:
    'Ensure the lane has one active session: return it (codex session continuity) or start one on the best transport',
  data: z
    .object({
      laneId: Token,
      provider: z.literal('codex'),
      preferredTransport: Transport.optional(),
      codexSessionId: Token.optional(),
    })
    .strict(),
};

/** The session view every surface returns (HTTP, NATS result, CLI --json). */
export const SessionView = z.object({
  session_id: z.string(),
  lane_id: z.string(),
  codex_session_id: z.string(),
  transport: Transport,
  status: z.enum(['detached', 'attaching', 'attached', 'terminated']),
  diagnostics: z.object({ degrade_reason: z.string().nullable() }),
});
export type SessionView = z.infer<typeof SessionView>;
