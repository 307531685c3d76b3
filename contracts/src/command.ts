import { z } from 'zod';
import { Actor, StateValue } from './envelope.ts';
import { ErrorBody } from './errors.ts';
import { Token } from './ids.ts';
import type { Principal } from './identity.ts';

/**
 * The body of a command, as sent on tether.cmd.<entity>.<verb> or POSTed to the gateway.
 * `id` is the idempotency key: resending the same id returns the original result.
 */
export const CommandRequest = z
  .object({
    id: Token.optional(),
    entityId: Token.optional(),
    data: z.record(z.string(), z.unknown()).default({}),
    actor: Actor.optional(),
    correlationId: Token.optional(),
    causationId: z.string().min(1).max(256).optional(),
  })
  .strict();
export type CommandRequest = z.input<typeof CommandRequest>;

/** A command after the bus has resolved its subject and stamped defaults. */
export interface Command {
  id: string;
  entity: string;
  verb: string;
  entityId?: string;
  data: Record<string, unknown>;
  actor: Actor;
  /** Who authenticated, for a command from outside; its actor is `actor`. Absent: tether's own. */
  principal?: Principal;
  correlationId: string;
  causationId: string;
}

export const CommandAccepted = z
  .object({
    ok: z.literal(true),
    commandId: z.string(),
    entity: z.string(),
    entityId: z.string(),
    /** Entity version after this command. */
    seq: z.number().int().positive(),
    streamSeq: z.number().int().positive(),
    state: StateValue,
    correlationId: z.string(),
    /** True when this command id was already applied and the original result is returned. */
    duplicate: z.boolean(),
    /** What an application command (e.g. session.ensure) answers beyond the entity it touched. */
    result: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type CommandAccepted = z.infer<typeof CommandAccepted>;

export const CommandRejected = z.object({ ok: z.literal(false), error: ErrorBody }).strict();
export type CommandRejected = z.infer<typeof CommandRejected>;

export const CommandReply = z.discriminatedUnion('ok', [CommandAccepted, CommandRejected]);
export type CommandReply = z.infer<typeof CommandReply>;
