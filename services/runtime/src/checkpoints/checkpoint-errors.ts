import { TetherError } from '@tether/contracts';

// The reasons a checkpoint cannot be used, named once: the recovery acts on them (falls back to an
// older checkpoint, or reports the terminal as failed with the reason).

/** The bytes are there but not the checkpoint that was written: damaged, truncated, zero bytes, another body. */
export const CHECKPOINT_CORRUPT = 'CHECKPOINT_CORRUPT';
/** The snapshot a reference names is gone. */
export const CHECKPOINT_MISSING = 'CHECKPOINT_MISSING';
/** A put of nothing: a zero-byte snapshot never replaces a good one. */
export const CHECKPOINT_EMPTY = 'CHECKPOINT_EMPTY';

const FALLBACK = "the recovery falls back to the terminal's previous checkpoint";

export function checkpointCorrupt(what: string, terminalId?: string, cause?: unknown): TetherError {
  const whose = terminalId ? `the checkpoint of terminal ${terminalId}` : 'a checkpoint';
  return new TetherError('INTERNAL', `${whose} is corrupt: ${what}; ${FALLBACK}`, {
    reason: CHECKPOINT_CORRUPT,
    cause,
  });
}

export function checkpointMissing(terminalId: string, key: string): TetherError {
  return new TetherError('NOT_FOUND', `the checkpoint ${key} of terminal ${terminalId} is gone; ${FALLBACK}`, {
    reason: CHECKPOINT_MISSING,
  });
}

export function checkpointEmpty(terminalId: string): TetherError {
  return new TetherError(
    'INTERNAL',
    `refused an empty checkpoint of terminal ${terminalId}: a zero-byte snapshot never replaces a good one (the previous one is kept); take it again once the terminal has a body to save`,
    { reason: CHECKPOINT_EMPTY },
  );
}

export const isCheckpointCorrupt = (err: unknown): err is TetherError =>
  err instanceof TetherError && err.reason === CHECKPOINT_CORRUPT;
export const isCheckpointMissing = (err: unknown): err is TetherError =>
  err instanceof TetherError && err.reason === CHECKPOINT_MISSING;
