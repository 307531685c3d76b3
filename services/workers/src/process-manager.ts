import { createHash } from 'node:crypto';
import {
  TetherError,
  type Command,
  type CommandAccepted,
  type EventEnvelope,
  type StoredEvent,
} from '@tether/contracts';
import type { EventStore, Logger, Subscription } from '@tether/runtime';

export type Send = (cmd: Command) => Promise<CommandAccepted>;

/** What a report needs of its cause: a stable id and the correlation id to carry on. */
export type Cause = Pick<EventEnvelope, 'id' | 'correlationId'>;

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
    return store.subscribe(`pm_${this.name}`, { filter, ackWaitMs: 120_000 }, handle);
  }

  /**
   * Sends a command caused by `cause` (a persisted event, or a worker's own observation with a
   * stable id): the command id derives from it, so repeating the cause repeats nothing. A rejection that means the world moved on (not allowed,
   * gone, exists) is logged and swallowed; unavailability throws so the event is redelivered.
   */
  async report(
    cause: Cause,
    entity: string,
    verb: string,
    entityId: string,
    data: Record<string, unknown> = {},
  ): Promise<CommandAccepted | undefined> {
    const id = createHash('sha256')
      .update(`${this.name}:${cause.id}:${entity}.${verb}.${entityId}`)
      .digest('hex')
      .slice(0, 40);
    try {
      return await this.send({
        id,
        entity,
        verb,
        entityId,
        data,
        actor: { kind: 'system', id: `worker:${this.name}` },
        correlationId: cause.correlationId,
        causationId: cause.id,
      });
    } catch (err) {
      if (err instanceof TetherError && ['NOT_ALLOWED', 'NOT_FOUND', 'ALREADY_EXISTS'].includes(err.code)) {
        this.log.debug(
          { correlationId: cause.correlationId, entity, verb, entityId, code: err.code, msg: err.message },
          'report no longer applies',
        );
        return undefined;
      }
      throw err;
    }
  }
}
