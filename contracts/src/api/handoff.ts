import { z } from 'zod';
import { Token } from '../ids.ts';
import { ActorRefText } from '../identity.ts';
import { CapturedContext, HandoffEnd } from '../entities/handoff.ts';

// HTTP bodies and views of handoffs; the same shapes are the `result` of the NATS commands.

export const HandoffRequestBody = z
  .object({
    terminal_id: Token,
    /** The receiver: "ai:codex-1" (human → AI) or "human:alice" (AI → human). */
    to: ActorRefText,
    /** Why (shown to the receiver and the approver, kept in the audit trail). */
    note: z.string().min(1).max(1_000).optional(),
    /** The writer session the receiver will type as (default: one tether makes up; the receiver may name its own when accepting). */
    session_id: Token.optional(),
  })
  .strict();
export const HandoffAcceptBody = z.object({ session_id: Token.optional() }).strict();
export const HandoffCancelBody = z.object({ reason: z.string().min(1).max(1_000).optional() }).strict();

/** Handoff commands that run across entities (the policy gate, the terminal); on NATS like any other command. */
export const handoffApplicationCommands = {
  request: {
    data: HandoffRequestBody,
    creates: true,
    summary:
      "Hand a terminal's keyboard to another actor: the share policy decides (a rule may hold it for an operator); once allowed the context is captured and the receiver is offered it",
  },
};

export const HandoffStatus = z.enum([
  'awaiting_approval',
  'requested',
  'offered',
  'transferring',
  'completed',
  'denied',
  'cancelled',
  'failed',
]);
export type HandoffStatus = z.infer<typeof HandoffStatus>;

/** A handoff as every surface shows it. The environment's values never appear: only their names. */
export const HandoffView = z.object({
  handoff_id: z.string(),
  terminal_id: z.string(),
  lane_id: z.string(),
  status: HandoffStatus,
  from: z.string(),
  to: z.string(),
  from_session_id: z.string(),
  to_session_id: z.string(),
  note: z.string().nullable(),
  requested_at: z.string(),
  approval_id: z.string().nullable(),
  policy: z.object({
    effect: z.enum(['allow', 'approval', 'deny']),
    rule_id: z.string().nullable(),
    reason: z.string(),
  }),
  /** What was captured once the handoff was allowed; null before that and for a denied handoff. */
  context: CapturedContext.nullable(),
  offer_expires_at: z.string().nullable(),
  accepted_at: z.string().nullable(),
  ended: z.object({ as: HandoffEnd, reason: z.string().nullable(), at: z.string(), by: z.string() }).nullable(),
});
export type HandoffView = z.infer<typeof HandoffView>;

/** The environment the giver's shell had, unsealed for the receiver once it has the keyboard (it could read it in the shell). */
export const HandoffEnvironment = z.object({
  handoff_id: z.string(),
  environment: z.record(z.string(), z.string()),
});

/** The message on tether.handoff.<kind>.<id>.offered (see handoffSubjects). */
export const HandoffOffer = z.object({
  handoff: HandoffView,
  /** How to take it: the command and HTTP route to accept with. */
  accept: z.object({ nats: z.string(), http: z.string() }),
});
export type HandoffOffer = z.infer<typeof HandoffOffer>;

/** A handoff in progress on a terminal, as share views and the dashboard show it. */
export const HandoffBadge = z.object({
  handoff_id: z.string(),
  status: HandoffStatus,
  from: z.string(),
  to: z.string(),
});
export type HandoffBadge = z.infer<typeof HandoffBadge>;

/** Filters of GET /v1/handoffs. */
export const HandoffListQuery = z
  .object({
    terminal_id: Token.optional(),
    /** Only handoffs to this actor ("kind:id"). */
    to: ActorRefText.optional(),
    live: z.enum(['true', 'false']).optional(),
  })
  .strict();
