import { z } from 'zod';
import { Actor, EventEnvelope, StateValue } from '../envelope.ts';
import { ShareEndReason } from '../entities/sharing.ts';
import { ShareBackend } from '../policy.ts';
import { entityContracts, type EntityNameOf } from '../entities.ts';
import { Iso, Token } from '../ids.ts';

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

/** A page of a list: `next_cursor` asks for the page after it (null: this was the last). */
export const Page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    /** Give it back as `cursor` for the next page; null when there is none. */
    next_cursor: z.string().nullable(),
  });

/** `limit` and `cursor` of a paged list, the most recently changed first. */
const paging = {
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** The `next_cursor` of the page before. */
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'a cursor is the next_cursor of the page before')
    .optional(),
};

/** Text search of a history list: an id prefix, a name or words of a reason (case-insensitive). */
const SearchText = z.string().trim().min(1).max(200);

/**
 * Filters of GET /v1/shares, the most recently changed first. A share's time (`since`, `until`) is when
 * it ended, or when it was asked for while it lives. `status=denied` is an ended share the policy or an
 * operator refused.
 */
export const ShareListQuery = z
  .object({
    terminal_id: Token.optional(),
    lane_id: Token.optional(),
    /** true: live shares only (as status=live); false: no such filter. */
    live: z.enum(['true', 'false']).optional(),
    status: z.enum(['live', 'ended', 'denied']).optional(),
    /** Why it ended (implies an ended share). */
    reason: ShareEndReason.optional(),
    backend: ShareBackend.optional(),
    /** Who shared it, as "kind:id". */
    owner: z
      .string()
      .regex(/^(human|ai|system|service):.+$/, 'an owner is "kind:id", e.g. human:alice')
      .optional(),
    /** Only shares whose time is at or after this. */
    since: Iso.optional(),
    /** Only shares whose time is before this. */
    until: Iso.optional(),
    /** A share id prefix, a participant's name, or words of the end reason, its detail or the policy's reason. */
    q: SearchText.optional(),
    ...paging,
  })
  .strict()
  .superRefine((q, ctx) => {
    const ended = q.status === 'ended' || q.status === 'denied' || q.reason !== undefined;
    if (q.live === 'true' && ended)
      ctx.addIssue({
        code: 'custom',
        path: ['live'],
        message: 'live=true asks for live shares; drop it to list ended ones',
      });
    if (q.status === 'live' && q.reason)
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a live share has no end reason; drop status=live' });
    if (q.status === 'denied' && q.reason && q.reason !== 'denied')
      ctx.addIssue({ code: 'custom', path: ['reason'], message: `status=denied and reason=${q.reason} contradict` });
    if (q.since && q.until && Date.parse(q.since) >= Date.parse(q.until))
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'until must be after since' });
  });
export type ShareListQuery = z.infer<typeof ShareListQuery>;

/** Filters of GET /v1/approvals, the most recently changed first. */
export const ApprovalListQuery = z
  .object({
    status: z.enum(['pending', 'approved', 'denied', 'expired']).optional(),
    /** An approval, share or handoff id prefix, the requester, or words of the rule's reason or the decision note. */
    q: SearchText.optional(),
    ...paging,
  })
  .strict();
export type ApprovalListQuery = z.infer<typeof ApprovalListQuery>;

/** One step of an entity's replay: an event (data redacted) and the machine's state after it. */
export const ReplayStep = z.object({
  seq: z.number().int().positive(),
  streamSeq: z.number().int().positive(),
  at: Iso,
  type: z.string(),
  actor: Actor,
  correlationId: z.string(),
  data: z.record(z.string(), z.unknown()),
  /** State value after the event. */
  state: StateValue,
  /** Context after the event, without secrets (token hashes, sealed links). */
  context: z.record(z.string(), z.unknown()),
});
export type ReplayStep = z.infer<typeof ReplayStep>;

/** GET /v1/entities/{entity}/{entityId}/replay, and `tether replay --json`. */
export const EntityReplay = z.object({
  entity: z.string(),
  entityId: z.string(),
  /** Events the entity has (steps may stop earlier, at `to_seq`). */
  total: z.number().int().nonnegative(),
  steps: z.array(ReplayStep),
});
export type EntityReplay = z.infer<typeof EntityReplay>;

export const ReplayQuery = z.object({ to_seq: z.coerce.number().int().min(1).optional() }).strict();
