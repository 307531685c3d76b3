import { assign, setup } from 'xstate';
import type { Actor, VerbData, codexSessionContract } from '@tether/contracts';
import type { Rejection } from './entity.ts';

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

export function explainCodexSession(
  id: string,
  value: unknown,
  ctx: CodexSessionContext,
  event: { type: string },
): Rejection | undefined {
  if (value === 'claimed' && event.type === 'claim') {
    return {
      reason: 'CODEX_SESSION_IN_USE',
      message: `codex session ${id} is used by session ${ctx.sessionId} of lane ${ctx.laneId}; terminate it first or use another codex session id`,
    };
  }
  if (event.type === 'release')
    return { reason: 'NOT_HOLDER', message: `codex session ${id} is not held by that session` };
  return undefined;
}
