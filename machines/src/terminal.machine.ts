import { and, assign, setup } from 'xstate';
import type { Actor, CheckpointRef, VerbData, terminalContract } from '@tether/contracts';
import type { RejectionTable } from './rejections.ts';

type C = typeof terminalContract;
export type TerminalEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface TerminalContext {
  laneId: string;
  sessionId: string;
  title?: string;
  /** The task run whose panes it shows (a tmux client on the task socket instead of a shell). */
  taskRunId?: string;
  tmuxSession?: string;
  panePid?: number;
  /** The installation (data folder) whose tmux server runs it. */
  installationId?: string;
  throttledAt?: string;
  closeReason?: string;
  exit?: { code: number | null; signal: string | null };
  closedAt?: string;
  /** Shares holding a slot of this terminal (at most the limit the share gate passes). */
  shares?: string[];
  /** The one handoff going on for this terminal: the terminal lets one at a time claim it. */
  handoffId?: string;
  /** Writer sessions that handed the keyboard on and still watch (read-only). */
  watchers?: string[];
  handedOverAt?: string;
  /** The pane's working directory as last sampled (cwdChanged). */
  cwd?: string;
  /** The latest checkpoint: where its snapshot is, and when it was taken. */
  checkpoint?: CheckpointRef & { at: string };
  /** The last respawn by a recovery run. */
  respawn?: { at: string; reason: string; recoveryId: string; restoredFrom: string | null };
}

const endings = {
  close: { target: 'closed', actions: 'recordClose' },
  exited: { target: 'closed', actions: 'recordClose' },
  lost: { target: 'closed', actions: 'recordClose' },
} as const;
/** What the checkpointer and a recovery run record of a running terminal. */
const recovery = {
  cwdChanged: { actions: 'recordCwd' },
  checkpointed: { actions: 'recordCheckpoint' },
  respawned: { actions: 'recordRespawn' },
} as const;
const slots = {
  shareOpen: { guard: 'slotFree', actions: 'openSlot' },
  shareClose: { guard: 'holdsSlot', actions: 'closeSlot' },
  handoffClaim: { guard: 'unclaimed', actions: 'claim' },
  handoffRelease: { guard: 'claimedByIt', actions: 'release' },
  handover: { guard: 'mayHandOver', actions: 'handOver' },
} as const;
const handoffOf = (e: TerminalEvent) => (e.data as { handoffId?: string }).handoffId;

/** A terminal: a shell in a tmux session on tether's socket, inside the lane's worktree. */
export const terminalMachine = setup({
  types: { context: {} as TerminalContext, events: {} as TerminalEvent },
  guards: {
    slotFree: ({ context, event }) =>
      event.type === 'shareOpen' &&
      !(context.shares ?? []).includes(event.data.shareId) &&
      (context.shares ?? []).length < event.data.limit,
    holdsSlot: ({ context, event }) =>
      event.type === 'shareClose' && (context.shares ?? []).includes(event.data.shareId),
    /** One handoff at a time: a second one racing for the terminal loses here, under optimistic concurrency. */
    unclaimed: ({ context, event }) => context.handoffId === undefined || context.handoffId === handoffOf(event),
    claimedByIt: ({ context, event }) => context.handoffId !== undefined && context.handoffId === handoffOf(event),
    /** The keyboard leaves the session that has it, and only that session. */
    writerIsGiver: ({ context, event }) => event.type === 'handover' && event.data.fromSessionId === context.sessionId,
    mayHandOver: and(['claimedByIt', 'writerIsGiver']),
  },
  actions: {
    openSlot: assign(({ context, event }) =>
      event.type === 'shareOpen' ? { shares: [...(context.shares ?? []), event.data.shareId] } : {},
    ),
    closeSlot: assign(({ context, event }) =>
      event.type === 'shareClose' ? { shares: (context.shares ?? []).filter((s) => s !== event.data.shareId) } : {},
    ),
    claim: assign(({ event }) => ({ handoffId: handoffOf(event) })),
    recordCwd: assign(({ event }) => (event.type === 'cwdChanged' ? { cwd: event.data.cwd } : {})),
    recordCheckpoint: assign(({ event }) =>
      event.type === 'checkpointed' ? { checkpoint: { ...event.data, at: event.at } } : {},
    ),
    // A respawned shell is a new process in a new tmux session; the old one's throttle ended with it.
    recordRespawn: assign(({ event }) =>
      event.type === 'respawned'
        ? {
            tmuxSession: event.data.tmuxSession,
            panePid: event.data.panePid,
            throttledAt: undefined,
            respawn: {
              at: event.at,
              reason: event.data.reason,
              recoveryId: event.data.recoveryId,
              restoredFrom: event.data.restoredFrom,
            },
          }
        : {},
    ),
    release: assign({ handoffId: undefined }),
    handOver: assign(({ context, event }) =>
      event.type === 'handover'
        ? {
            sessionId: event.data.toSessionId,
            watchers: [
              ...(context.watchers ?? []).filter((w) => w !== event.data.fromSessionId && w !== event.data.toSessionId),
              event.data.fromSessionId,
            ],
            handoffId: undefined,
            handedOverAt: event.at,
          }
        : {},
    ),
    // A closed terminal is nobody's to hand over: its claim goes with it (the handoff fails on its own).
    recordClose: assign(({ event }) => ({
      handoffId: undefined,
      closedAt: event.at,
      closeReason:
        event.type === 'close'
          ? (event.data.reason ?? 'closed')
          : event.type === 'spawnFailed'
            ? `spawn_failed: ${event.data.reason}`
            : event.type === 'exited'
              ? 'exited'
              : event.type === 'lost'
                ? `lost: ${event.data.reason}`
                : 'closed',
      ...(event.type === 'exited' ? { exit: event.data } : {}),
    })),
  },
}).createMachine({
  id: 'terminal',
  initial: 'idle',
  context: { laneId: '', sessionId: '' },
  states: {
    idle: {
      on: {
        spawn: {
          target: 'spawning',
          actions: assign(({ event }) => (event.type === 'spawn' ? { ...event.data } : {})),
        },
      },
    },
    spawning: {
      on: {
        started: {
          target: 'active',
          actions: assign(({ event }) => (event.type === 'started' ? { ...event.data } : {})),
        },
        spawnFailed: { target: 'closed', actions: 'recordClose' },
        close: { target: 'closed', actions: 'recordClose' },
        lost: { target: 'closed', actions: 'recordClose' },
      },
    },
    active: {
      on: {
        throttle: { target: 'throttled', actions: assign(({ event }) => ({ throttledAt: event.at })) },
        ...slots,
        ...endings,
        ...recovery,
      },
    },
    throttled: {
      on: {
        unthrottle: { target: 'active', actions: assign({ throttledAt: undefined }) },
        ...slots,
        ...endings,
        ...recovery,
        respawned: { target: 'active', actions: 'recordRespawn' },
      },
    },
    closed: { type: 'final' },
  },
});

/** A terminal whose shell runs (throttled or not): what a recovery restores, checkpoints and lists. */
export const isLiveTerminal = (value: unknown) => value === 'active' || value === 'throttled';

/** Why a terminal refuses a command, in words an operator can act on. */
export const terminalRejections: RejectionTable<TerminalContext> = {
  guards: {
    slotFree: ({ id, context, event }) => {
      const held = context.shares ?? [];
      return {
        reason: 'TERMINAL_SHARE_LIMIT',
        message: `terminal ${id} already has ${held.length} active shares (${held.join(', ')}), the limit is ${event.data.limit}; revoke one first`,
      };
    },
    holdsSlot: ({ id }) => ({ reason: 'SHARE_SLOT_FREE', message: `terminal ${id} holds no slot for that share` }),
    unclaimed: ({ id, context }) => ({
      reason: 'TERMINAL_HANDOFF_IN_PROGRESS',
      message: `terminal ${id} is being handed over by handoff ${context.handoffId}; wait for it to end (or cancel it) and ask again`,
    }),
    claimedByIt: ({ id, context, event }) => ({
      reason: 'TERMINAL_NOT_CLAIMED',
      message: `handoff ${event.data.handoffId} does not hold terminal ${id} (${context.handoffId ? `handoff ${context.handoffId} does` : 'no handoff does'})`,
    }),
    writerIsGiver: ({ id, context, event }) => ({
      reason: 'TERMINAL_WRITER_CHANGED',
      message: `terminal ${id}'s writer is session ${context.sessionId}, not ${event.data.fromSessionId}: the keyboard changed hands since the handoff was requested`,
    }),
  },
  states: {
    closed: ({ id, context, event }) => ({
      reason: 'TERMINAL_CLOSED',
      message: `terminal ${id} was closed at ${context.closedAt} (${context.closeReason}); ${event.type} is not possible`,
    }),
    spawning: ({ id, event }) => ({
      reason: 'TERMINAL_SPAWNING',
      message: `terminal ${id} is still starting; retry ${event.type} in a moment`,
    }),
  },
};
