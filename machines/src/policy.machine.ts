import { assign, setup } from 'xstate';
import type { Actor, PolicyContext, VerbData, policyContract } from '@tether/contracts';
import type { RejectionTable } from './rejections.ts';

type C = typeof policyContract;
export type PolicyEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

/**
 * The share policy in force at one installation: each load replaces it (at start, on a change of its
 * file, on an operator's reload); a refused file changes nothing but the last refusal, kept for show.
 */
export const policyMachine = setup({
  types: { context: {} as PolicyContext, events: {} as PolicyEvent },
  actions: {
    load: assign(({ context, event }) =>
      event.type === 'loaded'
        ? {
            file: event.data.file,
            source: event.data.source,
            ruleIds: event.data.ruleIds,
            trigger: event.data.trigger,
            loadedAt: event.at,
            loads: context.loads + 1,
          }
        : {},
    ),
    refuse: assign(({ event }) =>
      event.type === 'refused'
        ? {
            lastRefusal: {
              at: event.at,
              file: event.data.file,
              trigger: event.data.trigger,
              reason: event.data.reason,
            },
          }
        : {},
    ),
  },
}).createMachine({
  id: 'policy',
  initial: 'none',
  context: {
    file: null,
    source: 'built-in',
    ruleIds: [],
    trigger: 'start',
    loadedAt: new Date(0).toISOString(),
    loads: 0,
  },
  states: {
    none: { on: { loaded: { target: 'loaded', actions: 'load' } } },
    loaded: { on: { loaded: { actions: 'load' }, refused: { actions: 'refuse' } } },
  },
});

/** Nothing to explain: a load is always taken, and a refusal before any load is NOT_FOUND (the entity does not exist yet). */
export const policyRejections: RejectionTable<PolicyContext> = {};
