import { assign, setup } from 'xstate';
import { sameActor, type Actor, type VerbData, type approvalContract } from '@tether/contracts';
import type { Deadline, Rejection } from './entity.ts';

type C = typeof approvalContract;
export type ApprovalEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface ApprovalContext {
  shareId: string;
  requestedBy: Actor;
  ruleId: string;
  reason: string;
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  note?: string;
}

const plus = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();
/** Four eyes: a human decides, and not the one who asked. */
const mayDecide = (ctx: ApprovalContext, a: Actor) => a.kind === 'human' && !sameActor(a, ctx.requestedBy);

/** An operator's decision on a share a policy rule holds: pending → approved | denied | expired. */
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
    operator: ({ context, event }) => mayDecide(context, event.actor),
    due: ({ context, event }) => Date.parse(event.at) >= Date.parse(context.expiresAt),
  },
}).createMachine({
  id: 'approval',
  initial: 'absent',
  context: {
    shareId: '',
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

export function explainApproval(
  id: string,
  value: unknown,
  ctx: ApprovalContext,
  event: { type: string; actor?: Actor },
): Rejection | undefined {
  if (value !== 'pending' && value !== 'absent') {
    return {
      reason: `APPROVAL_${String(value).toUpperCase()}`,
      message: `approval ${id} is already ${String(value)}${ctx.decidedBy ? ` by ${ctx.decidedBy}` : ''} at ${ctx.decidedAt}; ${event.type} is not possible`,
    };
  }
  if (event.type === 'expire')
    return { reason: 'APPROVAL_NOT_DUE', message: `approval ${id} is open until ${ctx.expiresAt}` };
  if (event.actor && event.actor.kind !== 'human')
    return {
      reason: 'APPROVER_NOT_HUMAN',
      message: `approval ${id} must be decided by a human operator, not ${event.actor.kind}:${event.actor.id}`,
    };
  if (event.actor)
    return {
      reason: 'APPROVER_IS_REQUESTER',
      message: `approval ${id} was requested by ${ctx.requestedBy.kind}:${ctx.requestedBy.id}, who cannot approve or deny it; ask another operator`,
    };
  return undefined;
}
