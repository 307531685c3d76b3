import { z } from 'zod';
import { EventEnvelope, StateValue } from '../envelope.ts';
import { entityContracts, type EntityNameOf } from '../entities.ts';
import { Token } from '../ids.ts';

// The shapes of HTTP routes that are not an entity's body or view: path parameters, queries and the
// replies of the generic routes (actors, events, projections, health, the live stream).

/** An entity kind in a path, e.g. /v1/entities/{entity}. */
export const EntityKind = z.enum(Object.keys(entityContracts) as [EntityNameOf, ...EntityNameOf[]]);

/** One actor as the host or the actors read model holds it: state value and context after its last event. */
export const ActorState = z.object({
  entity: z.string(),
  entityId: z.string(),
  /** Entity version: number of events applied. */
  version: z.number().int(),
  /** Stream sequence of the last applied event. */
  streamSeq: z.number().int(),
  value: StateValue,
  context: z.record(z.string(), z.unknown()),
});
export type ActorState = z.infer<typeof ActorState>;

/** An event as read back from the store, with its position in the stream. */
export const EventRecord = EventEnvelope.extend({ streamSeq: z.number().int().positive() });

export const ActorList = z.object({ items: z.array(ActorState) });

export const ProjectionsStatus = z.object({
  items: z.array(z.object({ name: z.string(), bucket: z.string(), lag: z.number().int() })),
});

export const Health = z.object({ ok: z.literal(true), store: z.enum(['jetstream', 'embedded']) });

/** The OpenAPI document itself, as far as a client relies on it. */
export const OpenApiReply = z.looseObject({ openapi: z.literal('3.1.0'), paths: z.record(z.string(), z.unknown()) });

/** `data` of an `actor` event on GET /v1/stream: an actor as it is now (secrets left out), or its removal. */
export const StreamActor = z.union([
  ActorState,
  z.object({ entity: z.string(), entityId: z.string(), deleted: z.literal(true) }),
]);
export type StreamActor = z.infer<typeof StreamActor>;

/** Filters of GET /v1/shares. */
export const ShareListQuery = z
  .object({ terminal_id: Token.optional(), lane_id: Token.optional(), live: z.enum(['true', 'false']).optional() })
  .strict();
