import { and, assign, setup } from 'xstate';
import type { Actor, HarnessStatus, Transport, VerbData, harnessContract } from '@tether/contracts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof harnessContract;
export type HarnessEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface HarnessContext {
  url: string | null;
  cooldownMs: number;
  degradeReason?: string;
  latencyMs?: number;
  changedAt: string;
  /** False until the first health check: the first good check needs no cooldown. */
  checked: boolean;
}

/** The route follows the status: only a healthy harness carries traffic. */
export const transportFor = (status: HarnessStatus): Transport =>
  status === 'healthy' ? 'cliproxy_harness' : 'native_openai';

const to =
  (s: HarnessStatus) =>
  ({ event }: { event: HarnessEvent }) =>
    event.type === 'status.changed' && event.data.status === s;

/** configure and reconfigure alike: a url starts degraded until its first check, no url is unavailable. */
const configureTo = [
  { guard: 'configured', target: 'degraded', actions: 'configure' },
  { target: 'unavailable', actions: 'configure' },
] as const;

/**
 * Harness route (cliproxy first, native_openai fallback). Degrading is immediate; recovering waits
 * for a cooldown since the last change, so a flapping harness does not flap the route.
 */
export const harnessMachine = setup({
  types: { context: {} as HarnessContext, events: {} as HarnessEvent },
  actions: {
    configure: assign(({ event }) =>
      event.type === 'configure' || event.type === 'reconfigure'
        ? {
            ...event.data,
            changedAt: event.at,
            checked: false,
            latencyMs: undefined,
            degradeReason: event.data.url
              ? 'no health check yet'
              : 'not_configured: no harness url; sessions use native_openai',
          }
        : {},
    ),
    record: assign(({ event }) =>
      event.type === 'status.changed'
        ? { degradeReason: event.data.reason, latencyMs: event.data.latencyMs, changedAt: event.at, checked: true }
        : {},
    ),
  },
  guards: {
    toHealthy: to('healthy'),
    toDegraded: to('degraded'),
    toUnavailable: to('unavailable'),
    configured: ({ event }) => (event.type === 'configure' || event.type === 'reconfigure') && event.data.url !== null,
    cooledDown: ({ context, event }) =>
      !context.checked || Date.parse(event.at) >= Date.parse(context.changedAt) + context.cooldownMs,
  },
}).createMachine({
  id: 'harness',
  initial: 'absent',
  context: { url: null, cooldownMs: 0, changedAt: new Date(0).toISOString(), checked: false },
  states: {
    absent: { on: { configure: configureTo } },
    healthy: {
      on: {
        reconfigure: configureTo,
        'status.changed': [
          { guard: 'toDegraded', target: 'degraded', actions: 'record' },
          { guard: 'toUnavailable', target: 'unavailable', actions: 'record' },
        ],
      },
    },
    degraded: {
      on: {
        reconfigure: configureTo,
        'status.changed': [
          { guard: and(['toHealthy', 'cooledDown']), target: 'healthy', actions: 'record' },
          { guard: 'toUnavailable', target: 'unavailable', actions: 'record' },
        ],
      },
    },
    unavailable: {
      on: {
        reconfigure: configureTo,
        'status.changed': [
          { guard: and(['toHealthy', 'cooledDown']), target: 'healthy', actions: 'record' },
          { guard: and(['toDegraded', 'cooledDown']), target: 'degraded', actions: 'record' },
        ],
      },
    },
  },
});

const sameStatus: Reason<HarnessContext> = ({ id, state }) => ({
  reason: 'HARNESS_SAME_STATUS',
  message: `harness ${id} is ${state} already`,
});

/** Why a harness refuses a status change: it is that status already, or it is still cooling down. */
export const harnessRejections: RejectionTable<HarnessContext> = {
  guards: {
    toHealthy: sameStatus,
    toDegraded: sameStatus,
    toUnavailable: sameStatus,
    cooledDown: ({ id, state, context }) => ({
      reason: 'HARNESS_COOLDOWN',
      message: `harness ${id} changed to ${state} at ${context.changedAt}; it may recover only after the cooldown, at ${new Date(Date.parse(context.changedAt) + context.cooldownMs).toISOString()}`,
    }),
  },
};
