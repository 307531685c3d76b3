import { TetherError } from '@tether/contracts';
import type { Logger } from '../../logger.ts';

/** What the surfaces of one open store share, and the checks each call makes. */
export class StoreContext {
  /** Set once close has stopped the subscriptions: every call is refused from then on. */
  closed = false;

  constructor(
    readonly dir: string,
    readonly readOnly: boolean,
    readonly logger: Logger,
    /** Aborted when the store closes: ends followers and watchers. */
    readonly closing: AbortSignal,
  ) {}

  assertOpen(): void {
    if (this.closed) throw closedError(this.dir);
  }

  assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) throw readOnlyError(this.dir);
  }
}

/** How often a read-only store looks at the files for records written by the owning process. */
export const POLL_MS = 200;

/** Wakes every current waiter at once; a wait also ends on abort or after `timeoutMs`. */
export class Wake {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  wait(signal: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        this.waiters.delete(done);
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
export const sleep = (ms: number, signal: AbortSignal) => new Wake().wait(signal, ms);

export const readOnlyError = (dir: string) =>
  new TetherError(
    'NOT_ALLOWED',
    `the embedded event store at ${dir} was opened read-only; writes go through the tether process that owns it`,
    {
      reason: 'READ_ONLY',
    },
  );

export const closedError = (dir: string) =>
  new TetherError('UNAVAILABLE', `the embedded event store at ${dir} is closed`);
