import type { ReplayStep, StoredEvent } from '@tether/contracts';
import type { EntityDefinition } from '@tether/machines';
import { applyEvent, initialSnapshot } from './fold.ts';

/**
 * An entity's history folded with its machine: each event up to `toSeq` with the state and context
 * after it (`tether replay`, GET /v1/entities/{entity}/{entityId}/replay). Data and context as stored:
 * a caller that shows them to others redacts them.
 */
export function replaySteps(def: EntityDefinition, events: readonly StoredEvent[], toSeq = Infinity): ReplayStep[] {
  let s = initialSnapshot(def);
  const steps: ReplayStep[] = [];
  for (const e of events) {
    if (e.event.seq > toSeq) break;
    s = applyEvent(def, s, e.event);
    steps.push({
      seq: e.event.seq,
      streamSeq: e.streamSeq,
      at: e.event.at,
      type: e.event.type,
      actor: e.event.actor,
      correlationId: e.event.correlationId,
      data: e.event.data,
      state: s.value,
      context: s.context as Record<string, unknown>,
    });
  }
  return steps;
}
