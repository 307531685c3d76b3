import { ACTORS_BUCKET, subjects, type StoredEvent } from '@tether/contracts';
import type { EntityDefinition } from '@tether/machines';
import { applyEvent, initialSnapshot, restoreSnapshot, saveActor, type SavedActor } from '@tether/runtime';
import { OutOfOrderError, type Projection } from './projection.ts';

/**
 * Every actor's state and context, folded by its own machine: the read model behind entity
 * listings and the timer service's deadlines.
 */
export function actorsProjection(registry: Record<string, EntityDefinition>): Projection<SavedActor> {
  return {
    name: 'actors',
    bucket: ACTORS_BUCKET,
    filter: subjects.allEvents,
    keyOf: (e: StoredEvent) => (registry[e.event.entity] ? `${e.event.entity}.${e.event.entityId}` : undefined),
    apply(current, { event, streamSeq }) {
      const def = registry[event.entity]!;
      // Runners in several processes share one consumer: an event may arrive before its predecessor.
      const have = current?.version ?? 0;
      if (event.seq !== have + 1) throw new OutOfOrderError(`${event.entity}.${event.entityId}`, have, event.seq);
      const from = current ? restoreSnapshot(def, current.value, current.context) : initialSnapshot(def);
      return saveActor(event.entity, event.entityId, event.seq, streamSeq, applyEvent(def, from, event));
    },
  };
}
