import { assign, setup } from 'xstate';
import type { Actor, Transport, VerbData, sessionContract } from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { RejectionTable } from './rejections.ts';

type C = typeof sessionContract;
export type SessionEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface SessionContext {
  laneId: string;
  codexSessionId: string;
  provider: 'codex';
  transport: Transport;
  degradeReason?: string;
  heartbeatTimeoutMs: number;
  lastHeartbeat: string;
  terminatedReason?: string;
  terminatedAt?: string;
}

const plus = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();
const terminate = { terminate: { target: 'terminated', actions: 'recordTermination' } } as const;

/** A session: which codex session a lane runs, over which transport, and whether a client is there. */
export const sessionMachine = setup({
  types: { context: {} as SessionContext, events: {} as SessionEvent },
  actions: {
    recordTermination: assign(({ event }) =>
      event.type === 'terminate' ? { terminatedReason: event.data.reason ?? 'terminated', terminatedAt: event.at } : {},
    ),
  },
  guards: {
    heartbeatOverdue: ({ context, event }) =>
      Date.parse(event.at) >= Date.parse(plus(context.lastHeartbeat, context.heartbeatTimeoutMs)),
  },
}).createMachine({
  id: 'session',
  initial: 'absent',
  context: {
    laneId: '',
    codexSessionId: '',
    provider: 'codex',
    transport: 'native_openai',
    heartbeatTimeoutMs: 60_000,
    lastHeartbeat: new Date(0).toISOString(),
  },
  states: {
    absent: {
      on: {
        create: {
          target: 'attaching',
          actions: assign(({ event }) => (event.type === 'create' ? { ...event.data, lastHeartbeat: event.at } : {})),
        },
      },
    },
    attaching: {
      on: {
        attached: { target: 'attached', actions: assign(({ event }) => ({ lastHeartbeat: event.at })) },
        ...terminate,
      },
    },
    attached: {
      on: {
        heartbeat: { actions: assign(({ event }) => ({ lastHeartbeat: event.at })) },
        heartbeatMissed: { guard: 'heartbeatOverdue', target: 'detached' },
        detach: 'detached',
        ...terminate,
      },
    },
    detached: {
      on: {
        attach: {
          target: 'attaching',
          actions: assign(({ event }) =>
            event.type === 'attach'
              ? { transport: event.data.transport, degradeReason: event.data.degradeReason, lastHeartbeat: event.at }
              : {},
          ),
        },
        ...terminate,
      },
    },
    terminated: { type: 'final' },
  },
});

export function sessionDeadlines(value: unknown, ctx: SessionContext): Deadline[] {
  return value === 'attached' ? [{ verb: 'heartbeatMissed', at: plus(ctx.lastHeartbeat, ctx.heartbeatTimeoutMs) }] : [];
}

/** Sessions that still count as the lane's one session. */
export const isActiveSession = (value: unknown) => value !== 'terminated';

/** Why a session refuses a command, in words an operator can act on. */
export const sessionRejections: RejectionTable<SessionContext> = {
  guards: {
    heartbeatOverdue: ({ id, context }) => ({
      reason: 'HEARTBEAT_NOT_DUE',
      message: `session ${id} had a heartbeat at ${context.lastHeartbeat}; it is not overdue`,
    }),
  },
  states: {
    terminated: ({ id, context }) => ({
      reason: 'SESSION_TERMINATED',
      message: `session ${id} was terminated at ${context.terminatedAt} (${context.terminatedReason}); ensure a new session on lane ${context.laneId}`,
    }),
    detached: {
      heartbeat: ({ id }) => ({
        reason: 'SESSION_DETACHED',
        message: `session ${id} is detached; attach it again before sending heartbeats`,
      }),
    },
  },
};
