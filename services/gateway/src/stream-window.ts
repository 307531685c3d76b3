import type { SavedActor } from '@tether/runtime';

/** Per entity: the states an actor never leaves, and when it entered them (from its context). */
const ENDINGS: Record<string, { states: readonly string[]; at: (c: Record<string, unknown>) => unknown }> = {
  lane: { states: ['closed'], at: (c) => c.closedAt },
  session: { states: ['terminated'], at: (c) => c.terminatedAt },
  terminal: { states: ['closed'], at: (c) => c.closedAt },
  share: { states: ['ended'], at: (c) => c.endedAt },
  approval: { states: ['approved', 'denied', 'expired'], at: (c) => c.decidedAt ?? c.expiresAt },
  handoff: { states: ['completed', 'denied', 'cancelled', 'failed'], at: (c) => c.endedAt ?? c.completedAt },
  taskRun: { states: ['succeeded', 'failed', 'cancelled'], at: (c) => c.endedAt },
  liveSession: { states: ['revoked', 'ended', 'error'], at: (c) => c.endedAt },
};

/**
 * Whether an actor ended before `since` (ms since the epoch): the live stream's snapshot leaves it out. An
 * ended actor whose end time is unknown is kept: better shown once too often than hidden while recent.
 */
export function endedBefore(a: SavedActor, since: number): boolean {
  const ending = ENDINGS[a.entity];
  if (!ending || typeof a.value !== 'string' || !ending.states.includes(a.value)) return false;
  const at = ending.at((a.context ?? {}) as Record<string, unknown>);
  return typeof at === 'string' && Date.parse(at) < since;
}
