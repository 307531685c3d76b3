import { assign, setup } from 'xstate';
import type { Actor, VerbData, codexSessionContract } from '@tether/contracts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof codexSessionContract;
export type CodexSessionEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface CodexSessionContext {
  laneId?: string;
  sessionId?: string;
}

/**
 * The claim on one codex session id (entity id = the codex session id): free or claimed by
 * exactly one tether session. OCC on this entity's subject settles two lanes racing for it.
 */
export const codexSessionMachine = setup({
  types: { context: {} as CodexSessionContext, events: {} as CodexSessionEvent },
  guards: {
    sameSession: ({ context, event }) => event.type === 'claim' && context.sessionId === event.data.sessionId,
    byHolder: ({ context, event }) => event.type === 'release' && context.sessionId === event.data.sessionId,
  },
  actions: {
    hold: assign(({ event }) =>
      event.type === 'claim' ? { laneId: event.data.laneId, sessionId: event.data.sessionId } : {},
    ),
  },
}).createMachine({
  id: 'codexSession',
  initial: 'free',
  context: {},
  states: {
    free: { on: { claim: { target: 'claimed', actions: 'hold' } } },
    claimed: {
      on: {
        claim: { guard: 'sameSession', actions: 'hold' }, // the same session claiming again: idempotent
        release: { guard: 'byHolder', target: 'free', actions: assign({ laneId: undefined, sessionId: undefined }) },
      },
    },
  },
});

const notHolder: Reason<CodexSessionContext> = ({ id }) => ({
  reason: 'NOT_HOLDER',
  message: `codex session ${id} is not held by that session`,
});

/** Why a codex session id refuses a claim or a release. */
export const codexSessionRejections: RejectionTable<CodexSessionContext> = {
  guards: {
    sameSession: ({ id, context }) => ({
      reason: 'CODEX_SESSION_IN_USE',
      message: `codex session ${id} is used by session ${context.sessionId} of lane ${context.laneId}; terminate it first or use another codex session id`,
    }),
    byHolder: notHolder,
  },
  states: { free: { release: notHolder } },
};
