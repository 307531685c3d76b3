import { assign, setup } from 'xstate';
import type { Actor, VerbData, laneContract } from '@tether/contracts';
import type { RejectionTable } from './rejections.ts';

type C = typeof laneContract;
export type LaneEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

export interface LaneContext {
  workspaceId: string;
  projectContextId: string;
  displayName: string;
  worktreePath?: string;
  branch?: string;
  blockedReason?: string;
  shareId?: string;
  /** The lane's one active session, and the codex session it continues. */
  activeSessionId?: string;
  codexSessionId?: string;
  error?: { reason: string; message: string };
  closedAt?: string;
}

const toCleaning = { cleanup: 'cleaning' } as const;
const onMissing = { worktreeMissing: { target: 'error', actions: 'markMissing' } } as const;
const onBlock = { block: { target: 'blocked', actions: 'setBlocked' } } as const;
const onShare = { share: { target: 'shared', actions: 'setShare' } } as const;
const sessions = {
  bindSession: { guard: 'noActiveSession', actions: 'bindSession' },
  unbindSession: { guard: 'isActiveSession', actions: 'unbindSession' },
} as const;

/** A lane: a git worktree where an agent works, from provisioning to cleanup. */
export const laneMachine = setup({
  types: { context: {} as LaneContext, events: {} as LaneEvent },
  guards: {
    noActiveSession: ({ context }) => context.activeSessionId === undefined,
    isActiveSession: ({ context, event }) =>
      event.type === 'unbindSession' && context.activeSessionId === event.data.sessionId,
  },
  actions: {
    bindSession: assign(({ event }) =>
      event.type === 'bindSession'
        ? { activeSessionId: event.data.sessionId, codexSessionId: event.data.codexSessionId }
        : {},
    ),
    unbindSession: assign({ activeSessionId: undefined }),
    setBlocked: assign(({ event }) => (event.type === 'block' ? { blockedReason: event.data.reason } : {})),
    setShare: assign(({ event }) => (event.type === 'share' ? { shareId: event.data.shareId } : {})),
    failed: assign(({ event }) =>
      event.type === 'provisionFailed' || event.type === 'cleanupFailed'
        ? {
            error: {
              reason: event.type === 'provisionFailed' ? 'provision_failed' : 'cleanup_failed',
              message: event.data.reason,
            },
          }
        : {},
    ),
    markMissing: assign(({ event }) =>
      event.type === 'worktreeMissing'
        ? { error: { reason: 'worktree_missing', message: `worktree ${event.data.worktreePath} is gone from disk` } }
        : {},
    ),
  },
}).createMachine({
  id: 'lane',
  initial: 'new',
  context: { workspaceId: '', projectContextId: '', displayName: '' },
  states: {
    new: {
      on: {
        create: {
          target: 'provisioning',
          actions: assign(({ event }) => (event.type === 'create' ? { ...event.data } : {})),
        },
      },
    },
    provisioning: {
      on: {
        provisioned: {
          target: 'ready',
          actions: assign(({ event }) =>
            event.type === 'provisioned' ? { worktreePath: event.data.worktreePath, branch: event.data.branch } : {},
          ),
        },
        provisionFailed: { target: 'error', actions: 'failed' },
        ...toCleaning,
      },
    },
    ready: { on: { attach: 'running', ...onBlock, ...onShare, ...sessions, ...toCleaning, ...onMissing } },
    running: { on: { detach: 'ready', ...onBlock, ...onShare, ...sessions, ...toCleaning, ...onMissing } },
    blocked: {
      on: {
        unblock: { target: 'running', actions: assign({ blockedReason: undefined }) },
        ...sessions,
        ...toCleaning,
        ...onMissing,
      },
    },
    shared: {
      on: {
        unshare: { target: 'running', actions: assign({ shareId: undefined }) },
        ...sessions,
        ...toCleaning,
        ...onMissing,
      },
    },
    cleaning: {
      on: {
        unbindSession: { guard: 'isActiveSession', actions: 'unbindSession' },
        // The cascade's session unbind may land after this (another reactor): a closed lane holds no session.
        cleaned: {
          target: 'closed',
          actions: assign(({ event }) => ({ closedAt: event.at, activeSessionId: undefined })),
        },
        cleanupFailed: { target: 'error', actions: 'failed' },
      },
    },
    error: { on: { unbindSession: { guard: 'isActiveSession', actions: 'unbindSession' }, ...toCleaning } },
    closed: { type: 'final' },
  },
});

/** Why a lane refuses a command, in words an operator can act on. */
export const laneRejections: RejectionTable<LaneContext> = {
  guards: {
    noActiveSession: ({ id, context }) => ({
      reason: 'SESSION_ACTIVE',
      message: `lane ${id} already has the active session ${context.activeSessionId}`,
    }),
    isActiveSession: ({ id, context }) => ({
      reason: 'NOT_ACTIVE_SESSION',
      message: `that session is not lane ${id}'s active session (${context.activeSessionId ?? 'none'})`,
    }),
  },
  states: {
    closed: ({ id, context, event }) => ({
      reason: 'LANE_CLOSED',
      message: `lane ${id} was cleaned up at ${context.closedAt}; ${event.type} is not possible, create a new lane`,
    }),
    cleaning: ({ id, event }) => ({
      reason: 'LANE_CLEANING',
      message: `lane ${id} is being cleaned up; ${event.type} is not possible`,
    }),
    provisioning: ({ id, event }) => ({
      reason: 'LANE_PROVISIONING',
      message: `lane ${id} is still creating its worktree; retry ${event.type} when it is ready`,
    }),
    error: ({ id, context }) => ({
      reason: 'LANE_ERROR',
      message: `lane ${id} is in error (${context.error?.reason}: ${context.error?.message}); only cleanup is possible`,
    }),
    blocked: ({ id, context }) => ({
      reason: 'LANE_BLOCKED',
      message: `lane ${id} is blocked (${context.blockedReason}); unblock it first`,
    }),
  },
};
