import type { z } from 'zod';

/** What an entity accepts: one zod schema per verb; `creates` marks the verb that starts an entity. */
export interface VerbContract {
  data: z.ZodType<Record<string, unknown>>;
  creates?: boolean;
  /** Applies to a new entity or an existing one alike (e.g. claiming an id). */
  upsert?: boolean;
  /** An application command that acts on an existing entity named by `entityId` (e.g. share.invite). */
  needsEntityId?: boolean;
  /** Sent only by tether's own services (worker reports, timers, steps of an application command): NATS and HTTP refuse it. */
  internal?: boolean;
  summary: string;
}
export type EntityContract = Record<string, VerbContract>;

/** Parsed data of a verb: the type machines receive. */
export type VerbData<C extends EntityContract, V extends keyof C> = z.output<C[V]['data']>;
