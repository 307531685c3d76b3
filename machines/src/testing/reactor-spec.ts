import { expect } from 'vitest';
import { ENVELOPE_VERSION, type Actor, type EventEnvelope } from '@tether/contracts';
import type { Intent, Reactor } from '../reactor.ts';

const SPEC_ACTOR: Actor = { kind: 'human', id: 'ann' };

/** A persisted event for a spec: `type` is "entity.verb"; everything else has a plain default. */
export function anEvent(
  type: string,
  entityId: string,
  data: Record<string, unknown> = {},
  extra: Partial<EventEnvelope> = {},
): EventEnvelope {
  const entity = type.split('.')[0]!;
  return {
    id: `evt-${type}-${entityId}`,
    type,
    entity,
    entityId,
    seq: 1,
    at: '2026-01-01T00:00:00.000Z',
    correlationId: `corr-${entityId}`,
    causationId: `cmd-${entityId}`,
    actor: SPEC_ACTOR,
    data,
    state: 'x',
    v: ENVELOPE_VERSION,
    ...extra,
  } as EventEnvelope;
}

/** `reacting(r).given(event, view).then([...intents])` or `.thenNothing()`: a reactor spec in one line. */
export function reacting<View>(reactor: Reactor<View>) {
  return {
    given: (event: EventEnvelope, ...view: [View] extends [undefined] ? [] : [View]) => {
      const intents = () => reactor.react(event, view[0] as View);
      return {
        // biome-ignore lint/suspicious/noThenProperty: given/when/then is the spec's shape; nothing awaits a spec.
        then: (expected: Intent[]) => expect(intents()).toEqual(expected),
        thenNothing: () => expect(intents()).toEqual([]),
      };
    },
  };
}
