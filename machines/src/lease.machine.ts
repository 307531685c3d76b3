import { assign, setup } from 'xstate';
import type { Actor, LeaseContext, VerbData } from '@tether/contracts';
import type { leaseContract } from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { RejectionTable } from './rejections.ts';

type C = typeof leaseContract;
type At = { at: string; actor: Actor };
export type LeaseEvent =
  | ({ type: 'create'; data: VerbData<C, 'create'> } & At)
  | ({ type: 'renew'; data: VerbData<C, 'renew'> } & At)
  | ({ type: 'release'; data: VerbData<C, 'release'> } & At)
  | ({ type: 'expire'; data: VerbData<C, 'expire'> } & At);

const plus = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();
const due = (ctx: LeaseContext, at: string) => Date.parse(at) >= Date.parse(ctx.expiresAt);

export const leaseMachine = setup({
  types: { context: {} as LeaseContext, events: {} as LeaseEvent },
  guards: {
    notDue: ({ context, event }) => !due(context, event.at),
    isDue: ({ context, event }) => due(context, event.at),
  },
}).createMachine({
  id: 'lease',
  initial: 'absent',
  context: { holder: '', ttlMs: 0, expiresAt: new Date(0).toISOString(), renewals: 0 },
  states: {
    absent: {
      on: {
        create: {
          target: 'held',
          actions: assign(({ event }) =>
            event.type === 'create'
              ? { holder: event.data.holder, ttlMs: event.data.ttlMs, expiresAt: plus(event.at, event.data.ttlMs) }
              : {},
          ),
        },
      },
    },
    held: {
      on: {
        renew: {
          guard: 'notDue',
          actions: assign(({ context, event }) =>
            event.type === 'renew'
              ? { expiresAt: plus(event.at, event.data.ttlMs ?? context.ttlMs), renewals: context.renewals + 1 }
              : {},
          ),
        },
        release: {
          target: 'released',
          actions: assign(({ event }) =>
            event.type === 'release' ? { endedAt: event.at, releaseReason: event.data.reason } : {},
          ),
        },
        expire: { guard: 'isDue', target: 'expired', actions: assign(({ event }) => ({ endedAt: event.at })) },
      },
    },
    released: { type: 'final' },
    expired: { type: 'final' },
  },
});

export function leaseDeadlines(value: unknown, ctx: LeaseContext): Deadline[] {
  return value === 'held' ? [{ verb: 'expire', at: ctx.expiresAt }] : [];
}

/** Why a lease refuses a command, in words an operator can act on. */
export const leaseRejections: RejectionTable<LeaseContext> = {
  guards: {
    notDue: ({ id, context }) => ({
      reason: 'LEASE_EXPIRED',
      message: `lease ${id} expired at ${context.expiresAt}; renew is not possible, create a new lease`,
    }),
    isDue: ({ id, context }) => ({
      reason: 'LEASE_NOT_DUE',
      message: `lease ${id} is held until ${context.expiresAt}; it cannot expire before then`,
    }),
  },
  states: {
    released: ({ id, context, event }) => ({
      reason: 'LEASE_RELEASED',
      message: `lease ${id} was released at ${context.endedAt}; ${event.type} is not possible`,
    }),
    expired: ({ id, context, event }) => ({
      reason: 'LEASE_EXPIRED',
      message: `lease ${id} expired at ${context.endedAt}; ${event.type} is not possible, create a new lease`,
    }),
  },
};
