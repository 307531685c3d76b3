import { assign, setup } from 'xstate';
import type { Actor, CredentialContext, credentialContract, VerbData } from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof credentialContract;
export type CredentialEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

const due = (ctx: CredentialContext, at: string) =>
  ctx.expiresAt !== undefined && Date.parse(at) >= Date.parse(ctx.expiresAt);

/** A credential: issued → active, then revoked, used (a one-time login link) or expired; each is final. */
export const credentialMachine = setup({
  types: { context: {} as CredentialContext, events: {} as CredentialEvent },
  actions: {
    end: assign(({ event }) => ({
      endedAt: event.at,
      endedBy: event.actor,
      ...(event.type === 'revoke' && event.data.reason ? { reason: event.data.reason } : {}),
    })),
  },
  guards: {
    oneTime: ({ context }) => context.purpose === 'login',
    due: ({ context, event }) => due(context, event.at),
  },
}).createMachine({
  id: 'credential',
  initial: 'absent',
  context: {
    actor: { kind: 'system', id: 'nobody' },
    role: 'viewer',
    purpose: 'token',
    hash: '',
    issuedBy: { kind: 'system', id: 'nobody' },
    issuedAt: new Date(0).toISOString(),
  },
  states: {
    absent: {
      on: {
        issue: {
          target: 'active',
          actions: assign(({ event }) =>
            event.type === 'issue' ? { ...event.data, issuedBy: event.actor, issuedAt: event.at } : {},
          ),
        },
      },
    },
    active: {
      on: {
        revoke: { target: 'revoked', actions: 'end' },
        use: { guard: 'oneTime', target: 'used', actions: 'end' },
        expire: { guard: 'due', target: 'expired', actions: 'end' },
      },
    },
    revoked: { type: 'final' },
    used: { type: 'final' },
    expired: { type: 'final' },
  },
});

export function credentialDeadlines(value: unknown, ctx: CredentialContext): Deadline[] {
  return value === 'active' && ctx.expiresAt ? [{ verb: 'expire', at: ctx.expiresAt }] : [];
}

const ended: Reason<CredentialContext> = ({ id, state, context, event }) => ({
  reason: `CREDENTIAL_${state.toUpperCase()}`,
  message: `credential ${id} is ${state} (since ${context.endedAt}); ${event.type} is not possible`,
});

/** Why a credential refuses a command. */
export const credentialRejections: RejectionTable<CredentialContext> = {
  guards: {
    oneTime: ({ id }) => ({
      reason: 'CREDENTIAL_NOT_ONE_TIME',
      message: `credential ${id} is not a one-time login link; revoke it instead`,
    }),
    due: ({ id, context }) => ({
      reason: 'CREDENTIAL_NOT_DUE',
      message: `credential ${id} works until ${context.expiresAt ?? 'it is revoked'}`,
    }),
  },
  states: { revoked: ended, used: ended, expired: ended },
};
