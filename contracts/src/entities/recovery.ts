import { z } from 'zod';
import { Sha256Hex } from '../audit.ts';
import { freeText } from '../free-text.ts';
import { Iso, Token } from '../ids.ts';
import { PreviousExit } from '../supervisor.ts';
import type { EntityContract } from './contract.ts';

/*
 * Crash recovery (seed 003). Every `tether up` is an `instance` with a heartbeat deadline; a start that
 * finds an earlier instance of its installation not cleanly stopped records the crash and runs a
 * `recovery`: DETECTING → INVENTORYING → RESTORING → RECONCILING → LIVE or LIVE_WITH_ISSUES (or FAILED),
 * each stage and each terminal's outcome an event. The recovery is audited; the instance (a heartbeat
 * every few seconds) is not.
 */

const reason = freeText(1_000).min(1);
const noData = z.object({}).strict();
const count = z.number().int().nonnegative();

/** How a crashed server process ended, where the supervisor saw it (TETHER_PREVIOUS_EXIT). */
export const InstanceExit = PreviousExit.strict();
export type InstanceExit = z.infer<typeof InstanceExit>;

export const instanceContract = {
  start: {
    creates: true,
    internal: true,
    summary: '`tether up` runs: this server process, of this installation (data folder)',
    data: z
      .object({
        installationId: Token,
        pid: z.number().int().positive(),
        hostname: z.string().min(1).max(256),
        heartbeatMs: z.number().int().positive(),
      })
      .strict(),
  },
  heartbeat: { internal: true, summary: 'The server is alive (every TETHER_HEARTBEAT_MS)', data: noData },
  stop: { internal: true, summary: 'The server stopped cleanly', data: noData },
  crashed: {
    internal: true,
    summary: 'A later start found this instance not cleanly stopped',
    data: z
      .object({
        /** The instance that found it. */
        detectedBy: Token,
        exit: InstanceExit.nullable(),
      })
      .strict(),
  },
  heartbeatMissed: {
    internal: true,
    summary: 'Timer: no heartbeat within three intervals (another tether of the NATS noticed)',
    data: noData,
  },
  recovered: {
    internal: true,
    summary: 'A recovery run took this crash over',
    data: z.object({ recoveryId: Token }).strict(),
  },
} satisfies EntityContract;

/** One crash a recovery run answers. */
export const CrashRecord = z
  .object({
    instanceId: Token,
    pid: z.number().int().positive(),
    startedAt: Iso,
    lastHeartbeatAt: Iso.nullable(),
    crashedAt: Iso,
    exit: InstanceExit.nullable(),
  })
  .strict();
export type CrashRecord = z.infer<typeof CrashRecord>;

/** What a terminal's checkpoint holds in the stream: where its snapshot is (cwd and sealed environment ride inside it). */
export const CheckpointRef = z
  .object({ key: z.string().min(1).max(512), digest: Sha256Hex, bytes: count, scrollbackBytes: count })
  .strict();
export type CheckpointRef = z.infer<typeof CheckpointRef>;

export const RestorePlan = z.enum(['reattach', 'respawn']);

export const PlannedTerminal = z
  .object({
    terminalId: Token,
    laneId: Token,
    plan: RestorePlan,
    /** When its checkpoint was taken (respawn restores it); null when it has none. */
    checkpointAt: Iso.nullable(),
  })
  .strict();

export const OrphanItem = z
  .object({
    id: z.string().min(1).max(4_200),
    kind: z.enum(['process', 'tmuxSession', 'worktree', 'tempFile']),
    ref: z.string().max(4_096),
    reason: z.string().max(1_000),
    command: z.string().max(200).optional(),
    terminalId: z.string().max(128).optional(),
    shareId: z.string().max(128).optional(),
    laneId: z.string().max(128).optional(),
    /** The TETHER_OWNER a process carried (cleanup checks it again before any signal). */
    owner: z.string().max(256).optional(),
  })
  .strict();
export type OrphanItemData = z.infer<typeof OrphanItem>;

/** At most this many items of each list go into an event (the counts stay exact). */
export const ORPHAN_LIST_MAX = 500;

export const CleanupResult = z
  .object({
    terminated: count,
    removed: count,
    reviewPending: count,
    failed: z
      .array(z.object({ id: z.string().max(4_200), reason: z.string().max(1_000) }).strict())
      .max(ORPHAN_LIST_MAX),
  })
  .strict();

export const recoveryContract = {
  start: {
    creates: true,
    internal: true,
    summary: 'A start found crashed instances (or terminals whose tmux is gone): a recovery run begins',
    data: z
      .object({
        /** The installation (data folder) whose terminals the run restores; another's tethers may share the NATS. */
        installationId: Token,
        instanceId: Token,
        crashes: z.array(CrashRecord).max(100),
        /** The third crash within a minute: this start runs in safe mode. */
        safeMode: z.object({ reason, crashes: count }).strict().nullable(),
      })
      .strict(),
  },
  resumed: {
    internal: true,
    summary: 'A later start goes on with a run that a crash interrupted, from the stage it had reached',
    data: z
      .object({
        instanceId: Token,
        crashes: z.array(CrashRecord).max(100),
        /** A crash loop reached while the run was interrupted: safe mode from now on. */
        safeMode: z.object({ reason, crashes: count }).strict().nullable(),
      })
      .strict(),
  },
  detected: {
    internal: true,
    summary: "DETECTING done: whether tether's tmux server survived, and how many of its sessions",
    data: z.object({ tmuxAlive: z.boolean(), sessions: count }).strict(),
  },
  inventoried: {
    internal: true,
    summary: 'INVENTORYING done: the live terminals and how each comes back',
    data: z.object({ terminals: z.array(PlannedTerminal).max(10_000) }).strict(),
  },
  terminalRestored: {
    internal: true,
    summary: 'RESTORING: a terminal is back (reattached to its tmux session, or respawned from its checkpoint)',
    data: z.object({ terminalId: Token, how: RestorePlan }).strict(),
  },
  reattached: {
    internal: true,
    summary: 'RESTORING: the terminals whose tmux sessions survived are relayed again (one event for all of them)',
    data: z.object({ terminalIds: z.array(Token).min(1).max(10_000) }).strict(),
  },
  terminalFailed: {
    internal: true,
    summary: 'RESTORING: a terminal could not come back (terminal.lost says why)',
    data: z.object({ terminalId: Token, reason }).strict(),
  },
  lanesChecked: {
    internal: true,
    summary: 'RESTORING: lanes re-inventoried (worktrees present, or worktree_missing)',
    data: z.object({ present: count, missing: z.array(Token).max(10_000) }).strict(),
  },
  restored: {
    internal: true,
    summary: 'RESTORING done: every planned terminal has an outcome',
    data: z.object({ durationMs: count }).strict(),
  },
  reconciled: {
    internal: true,
    summary: 'RECONCILING done: orphans found, those safe to end ended, the rest listed for review',
    data: z
      .object({
        totalFound: count,
        safeToTerminate: z.array(OrphanItem).max(ORPHAN_LIST_MAX),
        needsReview: z.array(OrphanItem).max(ORPHAN_LIST_MAX),
        cleanup: CleanupResult,
        durationMs: count,
      })
      .strict(),
  },
  failed: {
    internal: true,
    summary: 'The run cannot go on',
    data: z.object({ reason }).strict(),
  },
  dismiss: { summary: "Dismiss the run's summary on the dashboard", data: noData },
  leaveSafeMode: {
    summary: 'Leave safe mode: share workers, the harness monitor and new terminals start again',
    data: z.object({ reason }).strict(),
  },
  cleanReview: {
    summary: 'Clean orphans that needed review (all, or the listed ids): processes ended, worktrees removed',
    data: z
      .object({ items: z.array(z.string().min(1).max(4_200)).min(1).max(ORPHAN_LIST_MAX).optional(), reason })
      .strict(),
  },
  reviewCleaned: {
    internal: true,
    summary: 'Worker report: the reviewed orphans were cleaned',
    data: z.object({ items: z.array(z.string().max(4_200)).max(ORPHAN_LIST_MAX), cleanup: CleanupResult }).strict(),
  },
} satisfies EntityContract;

/** The stages a run goes through, in order, as its state values. */
export const RECOVERY_STAGES = [
  'detecting',
  'inventorying',
  'restoring',
  'reconciling',
  'live',
  'liveWithIssues',
  'failed',
] as const;
export type RecoveryStage = (typeof RECOVERY_STAGES)[number];
