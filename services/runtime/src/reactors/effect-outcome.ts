import { TetherError } from '@tether/contracts';

/** A failure that means "not now" rather than "no": the store could not be reached; trying again may help. */
export const isTransient = (err: unknown): boolean => err instanceof TetherError && err.code === 'UNAVAILABLE';

/** The waits between tries of a transient failure: about 2 s in all, then the caller's own recovery takes over. */
const RETRY_DELAYS_MS = [100, 250, 500, 1_000];

/** Runs `fn`, trying again after a transient failure with backoff; the last failure (or any other) throws. */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  delaysMs: readonly number[] = RETRY_DELAYS_MS,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || attempt >= delaysMs.length) throw err;
      await new Promise((r) => setTimeout(r, delaysMs[attempt]));
    }
  }
}

export type EffectOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * How an effect went, for a worker to report after it, outside the effect's `try`: a report that cannot
 * be sent must not turn into "the effect failed". A transient error (the store unavailable while the
 * effect read what it needs) is no failure of the effect either: it throws, so the event is redelivered
 * and the (idempotent) effect runs again.
 */
export async function outcomeOf<T>(effect: () => Promise<T>): Promise<EffectOutcome<T>> {
  try {
    return { ok: true, value: await effect() };
  } catch (err) {
    if (isTransient(err)) throw err;
    return { ok: false, reason: (err as Error).message.slice(0, 1_000) };
  }
}
