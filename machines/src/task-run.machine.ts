import { assign, setup } from 'xstate';
import { actorRef, type Actor, type PauseMode, type VerbData, type taskRunContract } from '@tether/contracts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof taskRunContract;
export type TaskRunEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];
type Queue = VerbData<C, 'queue'>;

export interface TaskRunPause {
  mode: PauseMode;
  by: string;
  at: string;
  reason?: string;
  /** When the agent stopped (hard) or acknowledged the pause at a checkpoint (soft). */
  honouredAt?: string;
}

export interface TaskRunContext extends Queue {
  startedBy: Actor;
  queuedAt: string;
  startedAt?: string;
  agentPid?: number;
  tmuxSession?: string;
  inboxPath?: string;
  controlPath?: string;
  /** Bumped by every control (pause, resume, takeover, release, cancel); the agent's control file carries it. */
  controlSeq: number;
  pause?: TaskRunPause;
  takeover?: { by: string; at: string; reason?: string };
  /** Who held the last takeover released (whose write grant the release takes back, whoever released it). */
  releasedTakeoverBy?: string;
  /** Operator messages so far (each one an event; the inbox file has them in this order). */
  messages: number;
  exit?: { code: number | null; signal: string | null };
  endedAt?: string;
  endedBy?: string;
  endReason?: string;
}

const controlled = (ctx: TaskRunContext) => ({ controlSeq: ctx.controlSeq + 1 });

const pauseFrom = (e: TaskRunEvent): TaskRunPause | undefined =>
  e.type === 'pause' || e.type === 'takeover'
    ? {
        mode: e.data.mode,
        by: actorRef(e.actor),
        at: e.at,
        ...(e.data.reason ? { reason: e.data.reason } : {}),
      }
    : undefined;

const exitOf = (e: TaskRunEvent) => (e.type === 'exited' ? { exit: e.data } : {});

function endReason(e: TaskRunEvent): string | undefined {
  if (e.type === 'exited')
    return e.data.signal ? `the agent was killed by ${e.data.signal}` : `the agent exited with code ${e.data.code}`;
  if (e.type === 'startFailed' || e.type === 'lost') return e.data.reason;
  return undefined;
}

const exits = {
  exited: [
    { guard: 'succeeded', target: '#taskRun.succeeded', actions: 'end' },
    { target: '#taskRun.failed', actions: 'end' },
  ],
  lost: { target: '#taskRun.failed', actions: 'end' },
  cancel: { target: '#taskRun.cancelling', actions: 'cancel' },
  message: { actions: 'message' },
} as const;

/**
 * An agent's run in a lane: queued until its worker starts it in its terminal, then running; paused
 * (softly at the agent's next checkpoint, or hard with SIGSTOP) and resumed; taken over by an
 * operator (paused with its input held, the operator typing) and released with a summary; cancelled
 * (also while paused); succeeded or failed by its exit code, or lost with its tmux server.
 */
export const taskRunMachine = setup({
  types: { context: {} as TaskRunContext, events: {} as TaskRunEvent },
  guards: {
    succeeded: ({ event }) => event.type === 'exited' && event.data.code === 0 && event.data.signal === null,
    takenOver: ({ context }) => context.takeover !== undefined,
    notTakenOver: ({ context }) => context.takeover === undefined,
    /** The worker's report names the pause in force now, not an older one. */
    currentControl: ({ context, event }) =>
      event.type === 'pauseHonoured' && event.data.controlSeq === context.controlSeq,
  },
  actions: {
    queue: assign(({ event }) =>
      event.type === 'queue' ? { ...event.data, startedBy: event.actor, queuedAt: event.at } : {},
    ),
    pause: assign(({ context, event }) => ({ ...controlled(context), pause: pauseFrom(event) })),
    takeover: assign(({ context, event }) => ({
      ...controlled(context),
      pause: pauseFrom(event),
      takeover: {
        by: actorRef(event.actor),
        at: event.at,
        ...(event.type === 'takeover' && event.data.reason ? { reason: event.data.reason } : {}),
      },
    })),
    resume: assign(({ context }) => ({ ...controlled(context), pause: undefined, takeover: undefined })),
    cancel: assign(({ context, event }) => ({
      ...controlled(context),
      endReason: event.type === 'cancel' ? (event.data.reason ?? `cancelled by ${actorRef(event.actor)}`) : undefined,
      endedBy: actorRef(event.actor),
    })),
    message: assign(({ context }) => ({ messages: context.messages + 1 })),
    rememberTakeover: assign(({ context }) => ({ releasedTakeoverBy: context.takeover?.by })),
    end: assign(({ event }) => ({
      endedAt: event.at,
      endedBy: actorRef(event.actor),
      endReason: endReason(event),
      ...exitOf(event),
    })),
    cancelled: assign(({ context, event }) => ({ endedAt: event.at, ...exitOf(event), endReason: context.endReason })),
  },
}).createMachine({
  id: 'taskRun',
  initial: 'absent',
  context: {
    laneId: '',
    name: '',
    command: [],
    sessionId: '',
    terminalId: '',
    live: false,
    installationId: '',
    correlationId: '',
    startedBy: { kind: 'system', id: 'nobody' },
    queuedAt: new Date(0).toISOString(),
    controlSeq: 0,
    messages: 0,
  },
  states: {
    absent: { on: { queue: { target: 'queued', actions: 'queue' } } },
    queued: {
      on: {
        started: {
          target: 'running',
          actions: assign(({ event }) => (event.type === 'started' ? { ...event.data, startedAt: event.at } : {})),
        },
        startFailed: { target: 'failed', actions: 'end' },
        // Nothing runs yet: a cancel ends the run at once.
        cancel: { target: 'cancelled', actions: ['cancel', 'cancelled'] },
        message: { actions: 'message' },
      },
    },
    running: {
      on: {
        pause: { target: 'paused', actions: 'pause' },
        takeover: { target: 'paused', actions: 'takeover' },
        ...exits,
      },
    },
    paused: {
      on: {
        pauseHonoured: {
          guard: 'currentControl',
          actions: assign(({ context, event }) =>
            context.pause ? { pause: { ...context.pause, honouredAt: event.at } } : {},
          ),
        },
        resume: { guard: 'notTakenOver', target: 'running', actions: 'resume' },
        release: { guard: 'takenOver', target: 'running', actions: ['rememberTakeover', 'resume', 'message'] },
        // An operator takes over a run another paused: its pause becomes the takeover's.
        takeover: { guard: 'notTakenOver', actions: 'takeover' },
        ...exits,
      },
    },
    /** Cancelled: the process group is being stopped; its exit ends the run. */
    cancelling: {
      on: {
        exited: { target: 'cancelled', actions: 'cancelled' },
        lost: { target: 'cancelled', actions: 'cancelled' },
      },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
/** Over: succeeded, failed or cancelled. */
export const isEndedTaskRun = (value: unknown) => ENDED.has(String(value));
/** The agent process may be running: started and not yet exited (paused counts). */
export const hasLiveAgent = (value: unknown) => ['running', 'paused', 'cancelling'].includes(String(value));

const ended: Reason<TaskRunContext> = ({ id, state, context, event }) => ({
  reason: `TASK_RUN_${state.toUpperCase()}`,
  message: `task run ${id} ${state} at ${context.endedAt}${context.endReason ? ` (${context.endReason})` : ''}; ${event.type} is not possible`,
});

/** Why a task run refuses a command, in words an operator can act on. */
export const taskRunRejections: RejectionTable<TaskRunContext> = {
  guards: {
    takenOver: ({ id }) => ({
      reason: 'TASK_RUN_NOT_TAKEN_OVER',
      message: `task run ${id} is paused, not taken over; resume it instead of releasing it`,
    }),
    notTakenOver: ({ id, context, event }) => ({
      reason: 'TASK_RUN_TAKEN_OVER',
      message: `task run ${id} is taken over by ${context.takeover?.by} since ${context.takeover?.at}; ${event.type === 'resume' ? 'release it with a summary for the agent' : 'only one operator holds the keyboard at a time'}`,
    }),
    currentControl: ({ id, context }) => ({
      reason: 'TASK_RUN_STALE_CONTROL',
      message: `task run ${id} is at control ${context.controlSeq}; the report names an older one`,
    }),
  },
  states: {
    succeeded: ended,
    failed: ended,
    cancelled: ended,
    queued: ({ id, event }) => ({
      reason: 'TASK_RUN_QUEUED',
      message: `task run ${id} has not started yet; ${event.type} is possible once its agent runs (cancel is possible now)`,
    }),
    running: ({ id, event }) => ({
      reason: 'TASK_RUN_NOT_PAUSED',
      message: `task run ${id} is running, not paused; ${event.type} is possible once it is paused`,
    }),
    paused: ({ id, context, event }) => ({
      reason: 'TASK_RUN_PAUSED',
      message: `task run ${id} is already paused (${context.pause?.mode}, by ${context.pause?.by}); ${event.type} is not possible, resume it first`,
    }),
    cancelling: ({ id, event }) => ({
      reason: 'TASK_RUN_CANCELLING',
      message: `task run ${id} is being cancelled; ${event.type} is not possible any more`,
    }),
  },
};
