import type { AnyMachineSnapshot } from 'xstate';

// The fold itself is pure and lives with the machines; runtime re-exports it for its callers.
export {
  applyEvent,
  initialSnapshot,
  machineEvent,
  replayScope,
  restoreSnapshot,
  type ReplayScope,
} from '@tether/machines';

/** What a snapshot is saved as: small, JSON, restorable with restoreSnapshot. */
export interface SavedActor {
  entity: string;
  entityId: string;
  /** Entity version: number of events applied. */
  version: number;
  /** Stream sequence of the last applied event. */
  streamSeq: number;
  value: unknown;
  context: unknown;
}

export function saveActor(
  entity: string,
  entityId: string,
  version: number,
  streamSeq: number,
  s: AnyMachineSnapshot,
): SavedActor {
  return { entity, entityId, version, streamSeq, value: s.value, context: s.context };
}
