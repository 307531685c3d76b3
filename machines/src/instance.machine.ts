import { assign, setup } from 'xstate';
import type { Actor, InstanceExit, instanceContract, VerbData } from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof instanceContract;
export type InstanceEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface InstanceContext {
  installationId: string;
  pid: number;
  hostname: string;
  heartbeatMs: number;
  startedAt: string;
  lastHeartbeatAt?: string;
  /** Three heartbeats missed: the timer service marks the instance crashed. */
  heartbeatDeadline: string;
  stoppedAt?: string;
  crashedAt?: string;
  detectedBy?: string;
  exit?: InstanceExit | null;
  recoveryId?: string;
}

const deadline = (at: string, heartbeatMs: number) => new Date(Date.parse(at) + 3 * heartbeatMs).toISOString();

/** A `tether up` server process: running until it stops cleanly, or until a later start (or its missed heartbeats) says it crashed. */
export const instanceMachine = setup({
  types: { context: {} as InstanceContext, events: {} as InstanceEvent },
  actions: {
    crash: assign(({ event }) => ({
      crashedAt: event.at,
      detectedBy: event.type === 'crashed' ? event.data.detectedBy : 'heartbeat deadline',
      exit: event.type === 'crashed' ? event.data.exit : null,
    })),
  },
  guards: {
    due: ({ context, event }) => Date.parse(event.at) >= Date.parse(context.heartbeatDeadline),
  },
}).createMachine({
  id: 'instance',
  initial: 'absent',
  context: {
    installationId: '',
    pid: 0,
    hostname: '',
    heartbeatMs: 0,
    startedAt: new Date(0).toISOString(),
    heartbeatDeadline: new Date(0).toISOString(),
  },
  states: {
    absent: {
      on: {
        start: {
          target: 'running',
          actions: assign(({ event }) =>
            event.type === 'start'
              ? {
                  ...event.data,
                  startedAt: event.at,
                  heartbeatDeadline: deadline(event.at, event.data.heartbeatMs),
                }
              : {},
          ),
        },
      },
    },
    running: {
      on: {
        heartbeat: {
          actions: assign(({ context, event }) => ({
            lastHeartbeatAt: event.at,
            heartbeatDeadline: deadline(event.at, context.heartbeatMs),
          })),
        },
        stop: { target: 'stopped', actions: assign(({ event }) => ({ stoppedAt: event.at })) },
        crashed: { target: 'crashed', actions: 'crash' },
        heartbeatMissed: { guard: 'due', target: 'crashed', actions: 'crash' },
      },
    },
    crashed: {
      on: {
        recovered: {
          target: 'recovered',
          actions: assign(({ event }) => (event.type === 'recovered' ? { recoveryId: event.data.recoveryId } : {})),
        },
      },
    },
    stopped: { type: 'final' },
    recovered: { type: 'final' },
  },
});

export function instanceDeadlines(value: unknown, ctx: InstanceContext): Deadline[] {
  return value === 'running' ? [{ verb: 'heartbeatMissed', at: ctx.heartbeatDeadline }] : [];
}

const ended: Reason<InstanceContext> = ({ id, state, context, event }) => ({
  reason: `INSTANCE_${state.toUpperCase()}`,
  message: `instance ${id} (pid ${context.pid}) is ${state} since ${context.stoppedAt ?? context.crashedAt}; ${event.type} is not possible`,
});

/** Why an instance refuses a report. */
export const instanceRejections: RejectionTable<InstanceContext> = {
  guards: {
    due: ({ id, context }) => ({
      reason: 'INSTANCE_HEARTBEAT_NOT_DUE',
      message: `instance ${id} has until ${context.heartbeatDeadline} for its next heartbeat`,
    }),
  },
  states: {
    running: {
      recovered: ({ id, context }) => ({
        reason: 'INSTANCE_RUNNING',
        message: `instance ${id} (pid ${context.pid}) is running; only a crashed instance can be recovered`,
      }),
    },
    stopped: ended,
    recovered: ended,
    crashed: ended,
  },
};
