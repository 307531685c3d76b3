import { assign, setup } from 'xstate';
import type { Actor, CrashRecord, OrphanItemData, recoveryContract, VerbData } from '@tether/contracts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof recoveryContract;
export type RecoveryEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];

type Planned = VerbData<C, 'inventoried'>['terminals'][number];
export type TerminalOutcome =
  | { terminalId: string; result: 'reattached' | 'respawned'; at: string }
  | { terminalId: string; result: 'failed'; reason: string; at: string };

export interface RecoveryContext {
  installationId: string;
  /** The instance that runs (or last resumed) the run. */
  instanceId: string;
  crashes: CrashRecord[];
  startedAt: string;
  safeMode: { reason: string; crashes: number; leftAt?: string; leftBy?: Actor; leftReason?: string } | null;
  resumes: number;
  tmux?: { alive: boolean; sessions: number };
  plan: Planned[];
  outcomes: Record<string, TerminalOutcome>;
  lanes?: { present: number; missing: string[] };
  restoreMs?: number;
  orphans?: {
    totalFound: number;
    safeToTerminate: OrphanItemData[];
    needsReview: OrphanItemData[];
    cleanup: VerbData<C, 'reconciled'>['cleanup'];
  };
  liveAt?: string;
  failReason?: string;
  dismissedAt?: string;
}

const planned = (ctx: RecoveryContext, terminalId: string) => ctx.plan.some((p) => p.terminalId === terminalId);
/** The outcomes an event records: one terminal's, or every reattached one's. */
const outcomesOf = (e: RecoveryEvent): TerminalOutcome[] =>
  e.type === 'reattached'
    ? e.data.terminalIds.map((terminalId) => ({ terminalId, result: 'reattached' as const, at: e.at }))
    : [outcomeOf(e)].filter((o): o is TerminalOutcome => o !== undefined);
const outcomeOf = (e: RecoveryEvent): TerminalOutcome | undefined =>
  e.type === 'terminalRestored'
    ? { terminalId: e.data.terminalId, result: e.data.how === 'reattach' ? 'reattached' : 'respawned', at: e.at }
    : e.type === 'terminalFailed'
      ? { terminalId: e.data.terminalId, result: 'failed', reason: e.data.reason, at: e.at }
      : undefined;
const hasIssues = (ctx: RecoveryContext, e: RecoveryEvent) =>
  Object.values(ctx.outcomes).some((o) => o.result === 'failed') ||
  (e.type === 'reconciled' && (e.data.needsReview.length > 0 || e.data.cleanup.failed.length > 0));

const fail = { failed: { target: '#recovery.failed', actions: 'recordFailure' } } as const;
const resume = { resumed: { actions: 'recordResume' } } as const;
const afterwards = {
  dismiss: { guard: 'notDismissed', actions: 'dismiss' },
  leaveSafeMode: { guard: 'inSafeMode', actions: 'leaveSafeMode' },
  // An action, even one that changes nothing: xstate's can() counts a transition with neither target
  // nor action as forbidden, so decide() would refuse the command. The reactor does the cleaning.
  cleanReview: { guard: 'reviewPending', actions: 'cleanRequested' },
  reviewCleaned: { actions: 'recordReviewCleaned' },
} as const;

/**
 * A recovery run: DETECTING (did tmux survive?) → INVENTORYING (which terminals, each reattached or
 * respawned) → RESTORING (each terminal's outcome, one event each; a run a crash interrupted resumes
 * here and skips what is done) → RECONCILING (orphans) → LIVE, or LIVE_WITH_ISSUES when a terminal was
 * lost or an orphan needs review; FAILED with a reason from any stage. Safe mode rides on the run that
 * found the crash loop, until an operator leaves it.
 */
export const recoveryMachine = setup({
  types: { context: {} as RecoveryContext, events: {} as RecoveryEvent },
  guards: {
    plannedOpen: ({ context, event }) => {
      const os = outcomesOf(event);
      return (
        os.length > 0 && os.every((o) => planned(context, o.terminalId) && context.outcomes[o.terminalId] === undefined)
      );
    },
    allOutcomes: ({ context }) => context.plan.every((p) => context.outcomes[p.terminalId] !== undefined),
    withIssues: ({ context, event }) => hasIssues(context, event),
    notDismissed: ({ context }) => context.dismissedAt === undefined,
    inSafeMode: ({ context }) => context.safeMode !== null && context.safeMode.leftAt === undefined,
    reviewPending: ({ context }) => (context.orphans?.needsReview.length ?? 0) > 0,
  },
  actions: {
    recordOutcome: assign(({ context, event }) => ({
      outcomes: { ...context.outcomes, ...Object.fromEntries(outcomesOf(event).map((o) => [o.terminalId, o])) },
    })),
    recordResume: assign(({ context, event }) =>
      event.type === 'resumed'
        ? {
            instanceId: event.data.instanceId,
            crashes: [...context.crashes, ...event.data.crashes],
            resumes: context.resumes + 1,
            ...(event.data.safeMode && !(context.safeMode && context.safeMode.leftAt === undefined)
              ? { safeMode: event.data.safeMode }
              : {}),
          }
        : {},
    ),
    cleanRequested: () => {},
    dismiss: assign(({ event }) => ({ dismissedAt: event.at })),
    recordFailure: assign(({ event }) => (event.type === 'failed' ? { failReason: event.data.reason } : {})),
    recordOrphans: assign(({ event }) =>
      event.type === 'reconciled'
        ? {
            orphans: {
              totalFound: event.data.totalFound,
              safeToTerminate: event.data.safeToTerminate,
              needsReview: event.data.needsReview,
              cleanup: event.data.cleanup,
            },
            liveAt: event.at,
          }
        : {},
    ),
    leaveSafeMode: assign(({ context, event }) =>
      event.type === 'leaveSafeMode' && context.safeMode
        ? { safeMode: { ...context.safeMode, leftAt: event.at, leftBy: event.actor, leftReason: event.data.reason } }
        : {},
    ),
    recordReviewCleaned: assign(({ context, event }) => {
      if (event.type !== 'reviewCleaned' || !context.orphans) return {};
      const done = new Set(event.data.items);
      return {
        orphans: {
          ...context.orphans,
          needsReview: context.orphans.needsReview.filter((i) => !done.has(i.id)),
          cleanup: event.data.cleanup,
        },
      };
    }),
  },
}).createMachine({
  id: 'recovery',
  initial: 'absent',
  context: {
    installationId: '',
    instanceId: '',
    crashes: [],
    startedAt: new Date(0).toISOString(),
    safeMode: null,
    resumes: 0,
    plan: [],
    outcomes: {},
  },
  states: {
    absent: {
      on: {
        start: {
          target: 'detecting',
          actions: assign(({ event }) =>
            event.type === 'start'
              ? {
                  installationId: event.data.installationId,
                  instanceId: event.data.instanceId,
                  crashes: event.data.crashes,
                  safeMode: event.data.safeMode,
                  startedAt: event.at,
                }
              : {},
          ),
        },
      },
    },
    detecting: {
      on: {
        detected: {
          target: 'inventorying',
          actions: assign(({ event }) =>
            event.type === 'detected' ? { tmux: { alive: event.data.tmuxAlive, sessions: event.data.sessions } } : {},
          ),
        },
        ...resume,
        ...fail,
        leaveSafeMode: afterwards.leaveSafeMode,
      },
    },
    inventorying: {
      on: {
        inventoried: {
          target: 'restoring',
          actions: assign(({ event }) => (event.type === 'inventoried' ? { plan: event.data.terminals } : {})),
        },
        ...resume,
        ...fail,
        leaveSafeMode: afterwards.leaveSafeMode,
      },
    },
    restoring: {
      on: {
        terminalRestored: { guard: 'plannedOpen', actions: 'recordOutcome' },
        reattached: { guard: 'plannedOpen', actions: 'recordOutcome' },
        terminalFailed: { guard: 'plannedOpen', actions: 'recordOutcome' },
        lanesChecked: {
          actions: assign(({ event }) =>
            event.type === 'lanesChecked'
              ? { lanes: { present: event.data.present, missing: event.data.missing } }
              : {},
          ),
        },
        restored: {
          guard: 'allOutcomes',
          target: 'reconciling',
          actions: assign(({ event }) => (event.type === 'restored' ? { restoreMs: event.data.durationMs } : {})),
        },
        ...resume,
        ...fail,
        leaveSafeMode: afterwards.leaveSafeMode,
      },
    },
    reconciling: {
      on: {
        reconciled: [
          { guard: 'withIssues', target: 'liveWithIssues', actions: 'recordOrphans' },
          { target: 'live', actions: 'recordOrphans' },
        ],
        ...resume,
        ...fail,
        leaveSafeMode: afterwards.leaveSafeMode,
      },
    },
    live: { on: afterwards },
    liveWithIssues: { on: afterwards },
    failed: { on: { dismiss: afterwards.dismiss, leaveSafeMode: afterwards.leaveSafeMode } },
  },
});

/** The result the seed names: `{restored, respawned, failed[{terminal, reason}], durationMs}`. */
export function recoveryResult(ctx: RecoveryContext) {
  const outcomes = Object.values(ctx.outcomes);
  return {
    restored: outcomes.filter((o) => o.result === 'reattached').length,
    respawned: outcomes.filter((o) => o.result === 'respawned').length,
    failed: outcomes.flatMap((o) => (o.result === 'failed' ? [{ terminal: o.terminalId, reason: o.reason }] : [])),
    durationMs: ctx.liveAt ? Date.parse(ctx.liveAt) - Date.parse(ctx.startedAt) : null,
  };
}

const over: Reason<RecoveryContext> = ({ id, state, event }) => ({
  reason: state === 'failed' ? 'RECOVERY_FAILED' : 'RECOVERY_OVER',
  message: `recovery ${id} is ${state}; ${event.type} belongs to a run still in progress`,
});
const inProgress: Reason<RecoveryContext> = ({ id, state, event }) => ({
  reason: 'RECOVERY_IN_PROGRESS',
  message: `recovery ${id} is still ${state}; ${event.type} is possible once it is live`,
});

/** Why a recovery run refuses a command. */
export const recoveryRejections: RejectionTable<RecoveryContext> = {
  guards: {
    plannedOpen: ({ id, event }) => ({
      reason: 'RECOVERY_TERMINAL_SETTLED',
      message: `terminal ${event.data.terminalId ?? (event.data.terminalIds ?? []).join(', ')} is not open in recovery ${id} (not planned, or its outcome is recorded)`,
    }),
    allOutcomes: ({ id, context }) => ({
      reason: 'RECOVERY_TERMINALS_PENDING',
      message: `recovery ${id} still waits for ${context.plan.filter((p) => !context.outcomes[p.terminalId]).length} terminals`,
    }),
    notDismissed: ({ id, context }) => ({
      reason: 'RECOVERY_DISMISSED',
      message: `recovery ${id}'s summary was dismissed at ${context.dismissedAt}`,
    }),
    inSafeMode: ({ id, context }) => ({
      reason: 'NOT_IN_SAFE_MODE',
      message: context.safeMode
        ? `recovery ${id} left safe mode at ${context.safeMode.leftAt}`
        : `recovery ${id} did not start tether in safe mode`,
    }),
    reviewPending: ({ id }) => ({
      reason: 'NOTHING_TO_REVIEW',
      message: `recovery ${id} has no orphans waiting for review (\`tether recovery review\` lists them)`,
    }),
  },
  states: {
    detecting: inProgress,
    inventorying: inProgress,
    restoring: inProgress,
    reconciling: inProgress,
    live: over,
    liveWithIssues: over,
    failed: over,
  },
};
