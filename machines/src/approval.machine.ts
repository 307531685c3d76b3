import { and, assign, setup } from 'xstate';
import { sameActor, type Actor, type VerbData, type approvalContract } from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof approvalContract;
export type ApprovalEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface ApprovalContext {
  /** What waits for the decision: a share or a handoff (exactly one; approvals older than handoffs name a share). */
  shareId?: string;
  handoffId?: string;
  requestedBy: Actor;
  ruleId: string;
  reason: string;
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  note?: string;
}

const plus = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();

/** An operator's decision on a share or handoff a policy rule holds: pending → approved | denied | expired. */
export const approvalMachine = setup({
  types: { context: {} as ApprovalContext, events: {} as ApprovalEvent },
  actions: {
    decide: assign(({ event }) => ({
      decidedBy: `${event.actor.kind}:${event.actor.id}`,
      decidedAt: event.at,
      note:
        event.type === 'approve'
          ? event.data.note
          : event.type === 'deny'
            ? event.data.reason
            : 'nobody decided in time',
    })),
  },
  guards: {
    byHuman: ({ event }) => event.actor.kind === 'human',
    notRequester: ({ context, event }) => !sameActor(event.actor, context.requestedBy),
    /** Four eyes: a human decides, and not the one who asked. */
    operator: and(['byHuman', 'notRequester']),
    due: ({ context, event }) => Date.parse(event.at) >= Date.parse(context.expiresAt),
  },
}).createMachine({
  id: 'approval',
  initial: 'absent',
  context: {
    requestedBy: { kind: 'system', id: 'nobody' },
    ruleId: '',
    reason: '',
    expiresAt: new Date(0).toISOString(),
  },
  states: {
    absent: {
      on: {
        request: {
          target: 'pending',
          actions: assign(({ event }) =>
            event.type === 'request' ? { ...event.data, expiresAt: plus(event.at, event.data.timeoutMs) } : {},
          ),
        },
      },
    },
    pending: {
      on: {
        approve: { guard: 'operator', target: 'approved', actions: 'decide' },
        deny: { guard: 'operator', target: 'denied', actions: 'decide' },
        expire: { guard: 'due', target: 'expired', actions: 'decide' },
      },
    },
    approved: { type: 'final' },
    denied: { type: 'final' },
    expired: { type: 'final' },
  },
});

export function approvalDeadlines(value: unknown, ctx: ApprovalContext): Deadline[] {
  return value === 'pending' ? [{ verb: 'expire', at: ctx.expiresAt }] : [];
}

const decided: Reason<ApprovalContext> = ({ id, state, context, event }) => ({
  reason: `APPROVAL_${state.toUpperCase()}`,
  message: `approval ${id} is already ${state}${context.decidedBy ? ` by ${context.decidedBy}` : ''} at ${context.decidedAt}; ${event.type} is not possible`,
});

/** Why an approval refuses a decision: four eyes, its deadline, or it is decided already. */
export const approvalRejections: RejectionTable<ApprovalContext> = {
  guards: {
    byHuman: ({ id, event }) => ({
      reason: 'APPROVER_NOT_HUMAN',
      message: `approval ${id} must be decided by a human operator, not ${event.actor.kind}:${event.actor.id}`,
    }),
    notRequester: ({ id, context }) => ({
      reason: 'APPROVER_IS_REQUESTER',
      message: `approval ${id} was requested by ${context.requestedBy.kind}:${context.requestedBy.id}, who cannot approve or deny it; ask another operator`,
    }),
    due: ({ id, context }) => ({
      reason: 'APPROVAL_NOT_DUE',
      message: `approval ${id} is open until ${context.expiresAt}`,
    }),
  },
  states: { approved: decided, denied: decided, expired: decided },
};
