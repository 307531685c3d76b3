import { z } from 'zod';
import { EntityName, Iso, Token } from './ids.ts';

export const ActorKind = z.enum(['human', 'ai', 'system', 'service']);

/** Who caused a command or event. */
export const Actor = z.object({ kind: ActorKind, id: z.string().min(1).max(256) }).strict();
export type Actor = z.infer<typeof Actor>;

/** The same actor: kind and id both match. */
export const sameActor = (a: Actor, b: Actor) => a.kind === b.kind && a.id === b.id;

/** The state value of an XState machine: a string, or nested objects for compound/parallel states. */
export type StateValue = string | { [key: string]: StateValue };
export const StateValue: z.ZodType<StateValue> = z.lazy(() => z.union([z.string(), z.record(z.string(), StateValue)]));

export const ENVELOPE_VERSION = 1;

/** Every event in TETHER_EVENTS has this shape (architecture rule 6). */
export const EventEnvelope = z
  .object({
    id: z.string().min(1),
    type: z.string().min(1),
    entity: EntityName,
    entityId: Token,
    /** Version of the entity: 1 for its first event, +1 for each after. */
    seq: z.number().int().positive(),
    at: Iso,
    correlationId: z.string().min(1),
    causationId: z.string().min(1),
    actor: Actor,
    /** The credential the actor authenticated with (absent for tether's own workers and timers). */
    credentialId: z.string().min(1).optional(),
    data: z.record(z.string(), z.unknown()),
    /** State value after the transition. */
    state: StateValue,
    v: z.number().int().positive(),
  })
  .strict();
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** An envelope as read back from the store, with its position in the stream. */
export interface StoredEvent {
  streamSeq: number;
  subject: string;
  event: EventEnvelope;
}

/** Events in the stream were validated by the host that wrote them; reading trusts that shape. */
export function decodeEnvelope(value: unknown): EventEnvelope {
  return value as EventEnvelope;
}
