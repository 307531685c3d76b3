import { LruMap } from './actor/lru.ts';
import type { EventLog } from './store/port.ts';

/**
 * The correlation id of an entity's first event (a share's: the request that created it), remembered
 * once read: reports about an entity (timers, workers, relays) continue its flow instead of starting
 * one of their own, so its logs and audit records hang together.
 */
export class CorrelationOrigins {
  private readonly known = new LruMap<string, string>(10_000);

  constructor(private readonly log: Pick<EventLog, 'readEntity'>) {}

  /** The entity's origin, or `fallback` when it has no events (or the log cannot be read now). */
  async of(entity: string, entityId: string, fallback: string): Promise<string> {
    const key = `${entity}.${entityId}`;
    const known = this.known.get(key);
    if (known) return known;
    const first = await this.log
      .readEntity(entity, entityId)
      .then((events) => events[0]?.event.correlationId)
      .catch(() => undefined);
    if (first) this.known.set(key, first);
    return first ?? fallback;
  }
}
