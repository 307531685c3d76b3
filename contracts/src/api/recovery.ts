import { z } from 'zod';
import { Token } from '../ids.ts';
import { OrphanItem, RECOVERY_STAGES, RestorePlan } from '../entities/recovery.ts';

// HTTP bodies and views of crash recovery; `tether recovery … --json` prints the same shapes.

const Stage = z.enum(RECOVERY_STAGES);

export const SafeModeView = z.object({
  /** True while this tether runs in safe mode. */
  active: z.boolean(),
  reason: z.string(),
  crashes: z.number().int(),
  recovery_id: z.string(),
  left_at: z.string().nullable(),
  left_by: z.string().nullable(),
  /** What is off while it is active, and the command that leaves it. */
  disabled: z.array(z.string()),
  leave: z.string(),
});
export type SafeModeView = z.infer<typeof SafeModeView>;

export const CrashView = z.object({
  instance_id: z.string(),
  pid: z.number().int(),
  started_at: z.string(),
  last_heartbeat_at: z.string().nullable(),
  crashed_at: z.string(),
  exit: z
    .object({
      code: z.number().int().nullable(),
      signal: z.string().nullable(),
      reason: z.enum(['exited', 'heartbeat']),
    })
    .nullable(),
});

export const RecoveredTerminalView = z.object({
  terminal_id: z.string(),
  lane_id: z.string(),
  plan: RestorePlan,
  checkpoint_at: z.string().nullable(),
  outcome: z.enum(['reattached', 'respawned', 'failed']).nullable(),
  reason: z.string().nullable(),
  /** For a failed terminal: what an operator can do about it. */
  what_to_do: z.string().nullable(),
});

export const OrphanView = OrphanItem.extend({ recovery_id: z.string() });
export type OrphanView = z.infer<typeof OrphanView>;

/** A recovery run as every surface shows it. */
export const RecoveryView = z.object({
  recovery_id: z.string(),
  status: Stage,
  /** The banner's line for the stage ("Restoring sessions... 3 of 5 complete."). */
  stage_text: z.string(),
  started_at: z.string(),
  instance_id: z.string(),
  resumes: z.number().int(),
  crashes: z.array(CrashView),
  safe_mode: SafeModeView.nullable(),
  tmux: z.object({ alive: z.boolean(), sessions: z.number().int() }).nullable(),
  progress: z.object({ done: z.number().int(), total: z.number().int() }),
  terminals: z.array(RecoveredTerminalView),
  lanes: z.object({ present: z.number().int(), missing: z.array(z.string()) }).nullable(),
  /** The seed's RestorationResult. */
  result: z.object({
    restored: z.number().int(),
    respawned: z.number().int(),
    failed: z.array(z.object({ terminal: z.string(), reason: z.string() })),
    duration_ms: z.number().int().nullable(),
  }),
  /** The seed's OrphanReport and CleanupResult, once RECONCILING is done. */
  orphans: z
    .object({
      total_found: z.number().int(),
      safe_to_terminate: z.array(OrphanItem),
      needs_review: z.array(OrphanItem),
      cleanup: z.object({
        terminated: z.number().int(),
        removed: z.number().int(),
        review_pending: z.number().int(),
        failed: z.array(z.object({ id: z.string(), reason: z.string() })),
      }),
    })
    .nullable(),
  live_at: z.string().nullable(),
  fail_reason: z.string().nullable(),
  dismissed_at: z.string().nullable(),
});
export type RecoveryView = z.infer<typeof RecoveryView>;

/** GET /v1/recovery: whether tether runs in safe mode, and its latest recovery run. */
export const RecoveryStatusView = z.object({
  safe_mode: SafeModeView.nullable(),
  latest: RecoveryView.nullable(),
  /** True while a run is not yet live: commands that create or change terminals are held meanwhile. */
  recovering: z.boolean(),
});
export type RecoveryStatusView = z.infer<typeof RecoveryStatusView>;

/** What a terminal's checkpoint holds, as the checkpoints read model shows it (never its environment). */
export const CheckpointView = z.object({
  terminal_id: z.string(),
  lane_id: z.string(),
  session_id: z.string(),
  tmux_session: z.string().nullable(),
  cwd: z.string().nullable(),
  taken_at: z.string().nullable(),
  bytes: z.number().int().nullable(),
  scrollback_bytes: z.number().int().nullable(),
  digest: z.string().nullable(),
});
export type CheckpointView = z.infer<typeof CheckpointView>;

export const RecoveryParams = z.object({ recovery: Token });
export const LeaveSafeModeBody = z.object({ reason: z.string().min(1).max(1_000) }).strict();
export const CleanReviewBody = z
  .object({
    items: z.array(z.string().min(1).max(4_200)).min(1).max(500).optional(),
    reason: z.string().min(1).max(1_000),
  })
  .strict();

/** The seed's banner text of each stage. */
export function stageText(v: Pick<RecoveryView, 'status' | 'progress' | 'terminals' | 'result'>): string {
  switch (v.status) {
    case 'detecting':
      return 'Detecting crash... checking processes.';
    case 'inventorying':
      return 'Inventorying recoverable state...';
    case 'restoring':
      return `Restoring sessions... ${v.progress.done} of ${v.progress.total} complete.`;
    case 'reconciling':
      return 'Cleaning up orphaned processes...';
    case 'live':
      return `Recovery complete: ${v.result.restored} reattached, ${v.result.respawned} respawned.`;
    case 'liveWithIssues':
      return `Recovery complete with issues: ${v.result.restored} reattached, ${v.result.respawned} respawned, ${v.result.failed.length} failed.`;
    case 'failed':
      return 'Recovery failed.';
  }
}
