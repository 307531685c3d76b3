import { and, assign, setup } from 'xstate';
import {
  sameActor,
  type Actor,
  type CapturedContext,
  type HandoffEnd,
  type VerbData,
  type handoffContract,
  actorRef,
} from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof handoffContract;
export type HandoffEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];
type Req = VerbData<C, 'request'>;

export interface HandoffContext extends Req {
  /** Who asked: the giver (a person handing to an agent, or an agent asking for a person). */
  from: Actor;
  requestedAt: string;
  approvalId?: string;
  approvedBy?: string;
  /** Captured once the handoff is allowed; absent for a denied one. */
  context?: CapturedContext;
  offeredAt?: string;
  offerExpiresAt?: string;
  acceptedAt?: string;
  completedAt?: string;
  end?: HandoffEnd;
  endReason?: string;
  endedAt?: string;
  endedBy?: string;
}

const plus = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();
const isDue = (at: string, deadline: string | undefined) =>
  deadline !== undefined && Date.parse(at) >= Date.parse(deadline);
/** The writer session an accept makes: the one it names, else the one the request prepared. */
const writerOf = (ctx: HandoffContext, e: HandoffEvent) =>
  (e.type === 'accept' ? e.data.sessionId : undefined) ?? ctx.toSessionId;

function reasonOf(e: HandoffEvent): string | undefined {
  if (e.type === 'denied' || e.type === 'failed') return e.data.reason;
  if (e.type === 'cancel') return e.data.reason ?? `cancelled by ${actorRef(e.actor)}`;
  if (e.type === 'expire') return 'nobody accepted the offer in time';
  return undefined;
}

const end = (as: HandoffEnd) => ({
  target: `#handoff.${as}` as const,
  actions: { type: 'end' as const, params: { as } },
});
const failed = { failed: end('failed') } as const;
const cancel = { cancel: { guard: 'byParty', ...end('cancelled') } } as const;

/**
 * A terminal's keyboard passing from one actor to another. The policy decides at request (a rule may
 * hold it for an operator's approval); once allowed, tether captures the terminal's context and offers
 * it to the receiver, who accepts; the terminal's writer then changes and the handoff completes. It is
 * denied, cancelled by either party, expires unaccepted, or fails (the terminal is busy with another
 * handoff, closed, or the capture failed), always with a reason.
 */
export const handoffMachine = setup({
  types: { context: {} as HandoffContext, events: {} as HandoffEvent },
  guards: {
    /** A handoff goes to someone else. */
    notToSelf: ({ event }) => event.type === 'request' && !sameActor(event.actor, event.data.to),
    allowed: ({ event }) => event.type === 'request' && event.data.policy.effect === 'allow',
    needsApproval: ({ event }) => event.type === 'request' && event.data.policy.effect === 'approval',
    byReceiver: ({ context, event }) => sameActor(event.actor, context.to),
    byParty: ({ context, event }) => sameActor(event.actor, context.from) || sameActor(event.actor, context.to),
    /** The keyboard must change hands: the receiver cannot "take" it as the session that has it. */
    newWriter: ({ context, event }) => writerOf(context, event) !== context.fromSessionId,
    mayAccept: and(['byReceiver', 'newWriter']),
    offerDue: ({ context, event }) => isDue(event.at, context.offerExpiresAt),
    /** The terminal's report names this transfer. */
    sameTransfer: ({ context, event }) =>
      event.type === 'completed' &&
      event.data.terminalId === context.terminalId &&
      event.data.fromSessionId === context.fromSessionId &&
      event.data.toSessionId === context.toSessionId,
  },
  actions: {
    request: assign(({ event }) => (event.type === 'request' ? requested(event) : {})),
    requestDenied: assign(({ event }) =>
      event.type === 'request'
        ? {
            ...requested(event),
            end: 'denied' as const,
            endReason: event.data.policy.reason,
            endedAt: event.at,
            endedBy: 'policy',
          }
        : {},
    ),
    end: assign(({ event }, params: { as: HandoffEnd }) => ({
      end: params.as,
      endReason: reasonOf(event),
      endedAt: event.at,
      endedBy: actorRef(event.actor),
      ...(params.as === 'completed' ? { completedAt: event.at } : {}),
      ...(event.type === 'denied' ? { approvalId: event.data.approvalId } : {}),
    })),
  },
}).createMachine({
  id: 'handoff',
  initial: 'absent',
  context: {
    terminalId: '',
    laneId: '',
    to: { kind: 'system', id: 'nobody' },
    from: { kind: 'system', id: 'nobody' },
    fromSessionId: '',
    toSessionId: '',
    policy: { effect: 'deny', ruleId: null, reason: '' },
    offerTtlMs: 0,
    correlationId: '',
    requestedAt: new Date(0).toISOString(),
  },
  states: {
    absent: {
      on: {
        request: [
          { guard: and(['notToSelf', 'allowed']), target: 'requested', actions: 'request' },
          { guard: and(['notToSelf', 'needsApproval']), target: 'awaitingApproval', actions: 'request' },
          { guard: 'notToSelf', target: 'denied', actions: 'requestDenied' },
        ],
      },
    },
    awaitingApproval: {
      on: {
        approved: {
          target: 'requested',
          actions: assign(({ event }) =>
            event.type === 'approved' ? { approvalId: event.data.approvalId, approvedBy: event.data.by } : {},
          ),
        },
        denied: end('denied'),
        ...cancel,
        ...failed,
      },
    },
    /** Allowed: the context is being captured. */
    requested: {
      on: {
        initiated: {
          target: 'offered',
          actions: assign(({ context, event }) =>
            event.type === 'initiated'
              ? {
                  context: event.data.context,
                  offeredAt: event.at,
                  offerExpiresAt: plus(event.at, context.offerTtlMs),
                }
              : {},
          ),
        },
        ...cancel,
        ...failed,
      },
    },
    /** The receiver is notified and may accept. */
    offered: {
      on: {
        accept: {
          guard: 'mayAccept',
          target: 'transferring',
          actions: assign(({ context, event }) => ({ acceptedAt: event.at, toSessionId: writerOf(context, event) })),
        },
        expire: { guard: 'offerDue', ...end('cancelled') },
        ...cancel,
        ...failed,
      },
    },
    /** Accepted: the terminal's writer is changing. */
    transferring: {
      on: { completed: { guard: 'sameTransfer', ...end('completed') }, ...failed },
    },
    completed: { type: 'final' },
    denied: { type: 'final' },
    cancelled: { type: 'final' },
    failed: { type: 'final' },
  },
});

function requested(e: Extract<HandoffEvent, { type: 'request' }>): Partial<HandoffContext> {
  return { ...e.data, from: e.actor, requestedAt: e.at };
}

const LIVE = new Set(['awaitingApproval', 'requested', 'offered', 'transferring']);
/** Still going: not completed, denied, cancelled or failed. */
export const isLiveHandoff = (value: unknown) => LIVE.has(String(value));

export function handoffDeadlines(value: unknown, ctx: HandoffContext): Deadline[] {
  return value === 'offered' && ctx.offerExpiresAt ? [{ verb: 'expire', at: ctx.offerExpiresAt }] : [];
}

const ended: Reason<HandoffContext> = ({ id, state, context, event }) => ({
  reason: `HANDOFF_${state.toUpperCase()}`,
  message: `handoff ${id} ${state === 'completed' ? 'completed' : `was ${state}`} at ${context.endedAt}${context.endReason ? ` (${context.endReason})` : ''}; ${event.type} is not possible${event.type === 'accept' || event.type === 'cancel' ? ', request a new handoff' : ''}`,
});

/** Why a handoff refuses a command, in words an operator can act on. */
export const handoffRejections: RejectionTable<HandoffContext> = {
  guards: {
    notToSelf: ({ event }) => ({
      reason: 'HANDOFF_TO_SELF',
      message: `${actorRef(event.actor)} cannot hand terminal ${event.data.terminalId} to themselves; name another receiver`,
    }),
    byReceiver: ({ id, context, event }) => ({
      reason: 'HANDOFF_NOT_RECEIVER',
      message: `only the receiver of handoff ${id} (${actorRef(context.to)}) may accept it; ${actorRef(event.actor)} may not`,
    }),
    byParty: ({ id, context, event }) => ({
      reason: 'HANDOFF_NOT_PARTY',
      message: `handoff ${id} can be cancelled by ${actorRef(context.from)} or ${actorRef(context.to)}, not by ${actorRef(event.actor)}`,
    }),
    newWriter: ({ id, context }) => ({
      reason: 'HANDOFF_SAME_WRITER',
      message: `session ${context.fromSessionId} already writes to terminal ${context.terminalId}; accept handoff ${id} as another session (or name none)`,
    }),
    offerDue: ({ id, context }) => ({
      reason: 'HANDOFF_NOT_DUE',
      message: `handoff ${id} is offered until ${context.offerExpiresAt}`,
    }),
    sameTransfer: ({ id, context }) => ({
      reason: 'HANDOFF_TRANSFER_MISMATCH',
      message: `handoff ${id} moves terminal ${context.terminalId} from session ${context.fromSessionId} to ${context.toSessionId}; the report names another transfer`,
    }),
  },
  states: {
    completed: ended,
    denied: ended,
    cancelled: ended,
    failed: ended,
    awaitingApproval: ({ id, event }) => ({
      reason: 'HANDOFF_AWAITING_APPROVAL',
      message: `handoff ${id} waits for an operator's decision on approval ${id}; ${event.type} is possible once it is approved and offered`,
    }),
    requested: ({ id, event }) => ({
      reason: 'HANDOFF_NOT_OFFERED',
      message: `handoff ${id} is being prepared (its terminal's context is captured); ${event.type} is possible once it is offered`,
    }),
    transferring: ({ id, event }) => ({
      reason: 'HANDOFF_TRANSFERRING',
      message: `handoff ${id} was accepted and is moving the keyboard; ${event.type} is not possible any more`,
    }),
  },
};
