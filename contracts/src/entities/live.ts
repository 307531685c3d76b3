import { z } from 'zod';
import { Actor } from '../envelope.ts';
import { freeText } from '../free-text.ts';
import { Iso, Token } from '../ids.ts';
import type { EntityContract } from './contract.ts';

/*
 * Live task sessions (seed 002). A `taskRun` is an agent process tether starts in a lane, inside a
 * tether terminal laid out as agent | task log | operator inbox | operator shell, watched from its
 * first line: queued → running ⇄ paused → succeeded, failed or cancelled. Its `liveSession` (one per
 * run) is how people watch it: DISABLED (absent) → STARTING → READY → REVOKED, ENDED or ERROR, on a
 * share of the run's terminal (native relay by default, tmate on request), with durable deadlines for
 * its TTL, its write grants and its worker's heartbeat.
 *
 * Who may send each verb (the authorization table decides roles; the machines keep the rest):
 *   taskRun.run (application command), pause, resume, cancel, message, release: the run's starter or an operator
 *   taskRun.takeover (application command): the same; it pauses the run and grants its caller write
 *   liveSession.enable, grantWrite (application commands), revokeWrite, revoke: the same
 *   internal: taskRun.queue, started, startFailed, pauseHonoured, exited, lost, takeover (step);
 *             liveSession.open (step), ready, failed, heartbeat, heartbeatMissed, grantWrite (step), writeExpired, expire, end
 */

const reason = freeText(1_000).min(1);
const noData = z.object({}).strict();
const Millis = z
  .number()
  .int()
  .positive()
  .max(7 * 86_400_000);

/** soft: the agent pauses itself at its next checkpoint; hard: SIGSTOP of its process group. */
export const PauseMode = z.enum(['soft', 'hard']);
export type PauseMode = z.infer<typeof PauseMode>;

/** How a task run's live session is served. */
export const LiveProvider = z.enum(['native', 'tmate']);
export type LiveProvider = z.infer<typeof LiveProvider>;

/** The agent's command line: the program and its arguments, run without a shell. */
export const TaskCommand = z.array(z.string().min(1).max(4_096)).min(1).max(256);

/** An operator's message to the agent (also the summary a takeover leaves on release). */
export const OperatorMessageText = freeText(4_000).min(1);

export const taskRunContract = {
  queue: {
    internal: true,
    creates: true,
    summary: 'Queue an agent run in a lane (use taskRun.run, which checks the lane and the limits)',
    data: z
      .object({
        laneId: Token,
        name: freeText(128).min(1),
        command: TaskCommand,
        /** The lane's writer session the run's terminal belongs to. */
        sessionId: Token,
        /** The terminal the run is laid out in (derived from the run id). */
        terminalId: Token,
        /** Start a live session with the run (TETHER_LIVE_ENABLED, or the caller's choice). */
        live: z.boolean(),
        /** The installation whose task worker runs the agent (the tether that took the command): its tmux server holds the run. */
        installationId: Token,
        correlationId: z.string().min(1).max(256),
      })
      .strict(),
  },
  started: {
    internal: true,
    summary: "Task worker report: the agent runs in its terminal's agent pane",
    data: z
      .object({
        agentPid: z.number().int().positive(),
        tmuxSession: z.string().min(1).max(256),
        /** Where the agent reads its inbox and control file (paths, never secrets). */
        inboxPath: z.string().min(1).max(4_096),
        controlPath: z.string().min(1).max(4_096),
      })
      .strict(),
  },
  startFailed: {
    internal: true,
    summary: 'Task worker report: the agent could not be started',
    data: z.object({ reason }).strict(),
  },
  pause: {
    summary: 'Pause the agent: soft at its next checkpoint, or hard (SIGSTOP of its process group)',
    data: z.object({ mode: PauseMode.default('soft'), reason: reason.optional() }).strict(),
  },
  pauseHonoured: {
    internal: true,
    summary: 'Task worker report: the agent stopped (hard) or acknowledged the pause at a checkpoint (soft)',
    data: z.object({ controlSeq: z.number().int().nonnegative() }).strict(),
  },
  resume: {
    summary: 'Let a paused agent go on',
    data: z.object({ reason: reason.optional() }).strict(),
  },
  takeover: {
    internal: true,
    summary:
      'An operator takes the keyboard: the agent is paused, its input held (use taskRun.takeover, which grants the operator write)',
    data: z.object({ mode: PauseMode, reason: reason.optional() }).strict(),
  },
  release: {
    summary: "The operator gives the keyboard back: their summary goes to the agent's inbox and the agent resumes",
    data: z.object({ summary: OperatorMessageText }).strict(),
  },
  cancel: {
    summary: 'Stop the run (also while it is paused): its process group gets SIGTERM, then SIGKILL',
    data: z.object({ reason: reason.optional() }).strict(),
  },
  message: {
    summary: 'Send the agent a message: its inbox file, the inbox pane and tether.task.<id>.inbox get it',
    data: z.object({ message: OperatorMessageText }).strict(),
  },
  exited: {
    internal: true,
    summary: 'Task worker report: the agent exited',
    data: z.object({ code: z.number().int().nullable(), signal: z.string().nullable() }).strict(),
  },
  lost: {
    internal: true,
    summary: 'Task worker report: the agent is gone and how it ended is unknown (its tmux server died with a crash)',
    data: z.object({ reason }).strict(),
  },
} satisfies EntityContract;

/** One person's write grant on a live session (the share participant that carries it). */
export const LiveGrant = z
  .object({
    to: Actor,
    participantId: Token,
    grantedAt: Iso,
    expiresAt: Iso,
  })
  .strict();
export type LiveGrant = z.infer<typeof LiveGrant>;

export const liveSessionContract = {
  open: {
    internal: true,
    creates: true,
    summary: "Start a task run's live session (use liveSession.enable, which is idempotent)",
    data: z
      .object({
        taskRunId: Token,
        terminalId: Token,
        provider: LiveProvider,
        ttlMs: Millis,
        rwTtlMs: Millis,
        allowWeb: z.boolean(),
        heartbeatMs: z.number().int().positive().max(3_600_000),
      })
      .strict(),
  },
  ready: {
    internal: true,
    summary: 'Live worker report: the share that serves the session is up',
    data: z
      .object({
        shareId: Token,
        /** tmate's read-only endpoints sealed with tether's key (AES-256-GCM); native links are per person. */
        sealedReadOnly: z.string().max(8_192).optional(),
      })
      .strict(),
  },
  failed: {
    internal: true,
    summary: 'Live worker report: the session could not start or its share failed; the run goes on headless',
    data: z.object({ reason }).strict(),
  },
  heartbeat: {
    internal: true,
    summary: "Live worker: the session's worker is alive",
    data: z.object({ instanceId: Token }).strict(),
  },
  heartbeatMissed: {
    internal: true,
    summary: "Timer: the session's worker missed three heartbeats",
    data: noData,
  },
  grantWrite: {
    internal: true,
    summary: 'One person may type, until the grant expires (use liveSession.grantWrite, which makes their link)',
    data: z.object({ to: Actor, participantId: Token, ttlMs: Millis }).strict(),
  },
  revokeWrite: {
    summary: 'Make people read-only again: one (`to`, "kind:id") or everyone',
    data: z
      .object({
        to: z.string().min(3).max(300).optional(),
        reason: reason.optional(),
      })
      .strict(),
  },
  writeExpired: { internal: true, summary: 'Timer: write grants whose time is up end', data: noData },
  revoke: {
    summary: 'End the live session now: every watcher is disconnected (the run goes on)',
    data: z.object({ reason: reason.optional() }).strict(),
  },
  expire: { internal: true, summary: "Timer: the session's TTL is up", data: noData },
  end: {
    internal: true,
    summary: 'The task run ended, or the worker that served the session restarted and could not keep it',
    data: z.object({ reason }).strict(),
  },
} satisfies EntityContract;
