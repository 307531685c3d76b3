/**
 * What a crashed tether may leave behind, and what recovery does with it: SafeToTerminate items carry
 * this installation's marker and belong to no live entity; NeedsReview items are anything not clearly
 * tether's, or holding user work, and are only ever removed by an operator's explicit cleanup.
 */
export type OrphanKind = 'process' | 'tmuxSession' | 'worktree' | 'tempFile';

export interface OrphanItem {
  /** Stable: "process:<pid>:<start time>", "tmux:<name>", "worktree:<path>", "file:<path>". */
  id: string;
  kind: OrphanKind;
  /** The pid, session name or path. */
  ref: string;
  /** Why it is classified so, in words. */
  reason: string;
  /** A process's command line, its first 200 characters (never its environment). */
  command?: string;
  /** The TETHER_OWNER a process carried: cleanup signals it only while it still carries it. */
  owner?: string;
  terminalId?: string;
  shareId?: string;
  laneId?: string;
}

export interface OrphanReport {
  safeToTerminate: OrphanItem[];
  needsReview: OrphanItem[];
  totalFound: number;
  scannedMs: number;
}

export interface CleanupResult {
  /** Processes ended and tmux sessions killed. */
  terminated: number;
  /** Worktrees and temp files removed. */
  removed: number;
  /** NeedsReview items left for an operator. */
  reviewPending: number;
  failed: { id: string; reason: string }[];
}

/** What the running tether owns after restoring: none of it is an orphan. */
export interface LiveSet {
  terminals: Set<string>;
  shares: Set<string>;
  /** Lane id → its worktree path. */
  lanes: Map<string, string>;
  /** Every terminal id ever (closed ones too): a tmux session so named is tether's own leftover. */
  knownTerminals: Set<string>;
  /** This process, its ancestors, the local nats-server. */
  protectedPids: Set<number>;
}

/** The installation marker tether put on processes before installation ids: a pid, useless after a restart. */
export const OLD_OWNER = /^tether-\d+$/;

export const MAX_COMMAND_CHARS = 200;
