import { z } from 'zod';
import { Token } from '../ids.ts';
import { HarnessStatus, SessionView, Transport } from '../entities/control-plane.ts';

// HTTP bodies of the control-plane API (seed 004's contract), snake_case as its clients expect.

export const LaneCreateBody = z
  .object({
    project_context_id: z.string().min(1).max(256),
    display_name: z.string().min(1).max(256),
    lane_id: Token.optional(),
  })
  .strict();
export const LaneCleanupBody = z.object({ reason: z.string().min(1).max(1_000).optional() }).strict();
export const SessionEnsureBody = z
  .object({
    provider: z.literal('codex'),
    preferred_transport: Transport.optional(),
    codex_session_id: Token.optional(),
  })
  .strict();
export const TerminalSpawnBody = z.object({ session_id: Token, title: z.string().min(1).max(256).optional() }).strict();

export const LaneStatus = z.enum([
  'new',
  'provisioning',
  'ready',
  'running',
  'blocked',
  'shared',
  'cleaning',
  'closed',
  'error',
]);
export const LaneView = z.object({
  lane_id: z.string(),
  workspace_id: z.string(),
  project_context_id: z.string(),
  display_name: z.string(),
  status: LaneStatus,
  worktree_path: z.string().nullable(),
  branch: z.string().nullable(),
  active_session_id: z.string().nullable(),
  error: z.object({ reason: z.string(), message: z.string() }).nullable(),
});
export type LaneView = z.infer<typeof LaneView>;

export const TerminalState = z.enum(['idle', 'spawning', 'active', 'throttled', 'closed']);
export const TerminalView = z.object({
  terminal_id: z.string(),
  lane_id: z.string(),
  session_id: z.string(),
  title: z.string().nullable(),
  state: TerminalState,
  tmux_session: z.string().nullable(),
  close_reason: z.string().nullable(),
  /** A handoff going on for the terminal (its keyboard is changing hands), else null. */
  handoff_id: z.string().nullable(),
  /** Sessions that handed the keyboard on and still watch, read-only. */
  watchers: z.array(z.string()),
});
export type TerminalView = z.infer<typeof TerminalView>;

export const HarnessStatusView = z.object({
  status: HarnessStatus,
  transport: Transport,
  fallback_transport: z.literal('native_openai'),
  degrade_reason: z.string().optional(),
  changed_at: z.string().nullable(),
});
export type HarnessStatusView = z.infer<typeof HarnessStatusView>;

export const Items = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
export { SessionView };
