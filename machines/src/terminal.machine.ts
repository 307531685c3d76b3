import { assign, setup } from 'xstate';
import type { Actor, VerbData, terminalContract } from '@tether/contracts';
import type { Rejection } from './entity.ts';

type C = typeof terminalContract;
export type TerminalEvent = { [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor } }[keyof C & string];

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
}

const endings = { close: { target: 'closed', actions: 'recordClose' }, exited: { target: 'closed', actions: 'recordClose' } } as const;

/** A terminal: a shell in a tmux session on tether's socket, inside the lane's worktree. */
export const terminalMachine = setup({
  types: { context: {} as TerminalContext, events: {} as TerminalEvent },
  actions: {
    recordClose: assign(({ event }) => ({
      closedAt: event.at,
      closeReason:
        event.type === 'close' ? (event.data.reason ?? 'closed') : event.type === 'spawnFailed' ? `spawn_failed: ${event.data.reason}` : event.type === 'exited' ? 'exited' : 'closed',
      ...(event.type === 'exited' ? { exit: event.data } : {}),
    })),
  },
}).createMachine({
  id: 'terminal',
  initial: 'idle',
  context: { laneId: '', sessionId: '' },
  states: {
    idle: { on: { spawn: { target: 'spawning', actions: assign(({ event }) => (event.type === 'spawn' ? { ...event.data } : {})) } } },
    spawning: {
      on: {
        started: { target: 'active', actions: assign(({ event }) => (event.type === 'started' ? { ...event.data } : {})) },
        spawnFailed: { target: 'closed', actions: 'recordClose' },
        close: { target: 'closed', actions: 'recordClose' },
      },
    },
    active: { on: { throttle: { target: 'throttled', actions: assign(({ event }) => ({ throttledAt: event.at })) }, ...endings } },
    throttled: { on: { unthrottle: { target: 'active', actions: assign({ throttledAt: undefined }) }, ...endings } },
    closed: { type: 'final' },
  },
});

export function explainTerminal(id: string, value: unknown, ctx: TerminalContext, event: { type: string }): Rejection | undefined {
  if (value === 'closed') return { reason: 'TERMINAL_CLOSED', message: `terminal ${id} was closed at ${ctx.closedAt} (${ctx.closeReason}); ${event.type} is not possible` };
  if (value === 'spawning') return { reason: 'TERMINAL_SPAWNING', message: `terminal ${id} is still starting; retry ${event.type} in a moment` };
  return undefined;
}
