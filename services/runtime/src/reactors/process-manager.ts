import type { CommandAccepted, StoredEvent } from '@tether/contracts';
import type { Logger } from '../logger.ts';
import type { EventStore, Subscription } from '../store/port.ts';
import { attempt, report, type Cause, type Send } from './reactor-runner.ts';

/**
 * A process manager reacts to persisted events with effects, then reports back with commands whose
 * ids derive from the event: a redelivered event repeats them without applying anything twice.
 */
export class ProcessManager {
  constructor(
    readonly name: string,
    private readonly send: Send,
    readonly log: Logger,
  ) {}

  subscribe(store: EventStore, filter: string, handle: (e: StoredEvent) => Promise<void>): Promise<Subscription> {
    // An effect may take up to 2 minutes (a worktree of a big repo); a crashed process's events still
    // move on within seconds (the store's lease, see JetStreamSubscriptions).
    return store.subscribe(`pm_${this.name}`, { filter, ackWaitMs: 120_000 }, handle);
  }

  /** Sends a command caused by `cause`; see runtime's `report`. */
  report(
    cause: Cause,
    entity: string,
    verb: string,
    entityId: string,
    data: Record<string, unknown> = {},
  ): Promise<CommandAccepted | undefined> {
    return report(this.name, this.send, this.log, cause, { entity, verb, entityId, data });
  }

  /** As `report`, answering a refusal rather than swallowing it; see runtime's `attempt`. */
  attempt(cause: Cause, entity: string, verb: string, entityId: string, data: Record<string, unknown> = {}) {
    return attempt(this.name, this.send, cause, { entity, verb, entityId, data });
  }
}
