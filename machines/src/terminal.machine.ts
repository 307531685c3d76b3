import { assign, setup } from 'xstate';
import type { Actor, VerbData, terminalContract } from '@tether/contracts';
import type { RejectionTable } from './rejections.ts';

type C = typeof terminalContract;
export type TerminalEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface TerminalContext {
  laneId: string;
  sessionId: string;
  title?: string;
  tmuxSession?: string;
  panePid?: number;
  throttledAt?: string;
  closeReason?: string;
  exit?: { code: number | null; signal: string | null };
  closedAt?: string;
  /** Shares holding a slot of this terminal (at most the limit the share gate passes). */
  shares?: string[];
}

const endings = {
  close: { target: 'closed', actions: 'recordClose' },
  exited: { target: 'closed', actions: 'recordClose' },
} as const;
const slots = {
  shareOpen: { guard: 'slotFree', actions: 'openSlot' },
  shareClose: { guard: 'holdsSlot', actions: 'closeSlot' },
} as const;

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
  },
  actions: {
    openSlot: assign(({ context, event }) =>
      event.type === 'shareOpen' ? { shares: [...(context.shares ?? []), event.data.shareId] } : {},
    ),
    closeSlot: assign(({ context, event }) =>
      event.type === 'shareClose' ? { shares: (context.shares ?? []).filter((s) => s !== event.data.shareId) } : {},
    ),
    recordClose: assign(({ event }) => ({
      closedAt: event.at,
      closeReason:
        event.type === 'close'
          ? (event.data.reason ?? 'closed')
          : event.type === 'spawnFailed'
            ? `spawn_failed: ${event.data.reason}`
            : event.type === 'exited'
              ? 'exited'
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
      },
    },
    active: {
      on: {
        throttle: { target: 'throttled', actions: assign(({ event }) => ({ throttledAt: event.at })) },
        ...slots,
        ...endings,
      },
    },
    throttled: {
      on: { unthrottle: { target: 'active', actions: assign({ throttledAt: undefined }) }, ...slots, ...endings },
    },
    closed: { type: 'final' },
  },
});

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
