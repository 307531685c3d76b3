import { assign, setup } from 'xstate';
import { actorRef, type Actor, type LiveGrant, type VerbData, type liveSessionContract } from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { Reason, RejectionTable } from './rejections.ts';

type C = typeof liveSessionContract;
export type LiveSessionEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];
type Open = VerbData<C, 'open'>;

export type LiveSessionEnd = 'revoked' | 'ended' | 'error';

export interface LiveSessionContext extends Open {
  owner: Actor;
  startedAt: string;
  expiresAt: string;
  readyAt?: string;
  shareId?: string;
  sealedReadOnly?: string;
  lastHeartbeatAt?: string;
  /** Three heartbeats missed after this: the session ends in ERROR. */
  heartbeatDueAt?: string;
  /** The tether process serving it (its instance id), from its heartbeats. */
  instanceId?: string;
  grants: LiveGrant[];
  endedAt?: string;
  endedBy?: string;
  endReason?: string;
}

const plus = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();
const isDue = (at: string, deadline: string | undefined) =>
  deadline !== undefined && Date.parse(at) >= Date.parse(deadline);
const heartbeatDue = (ctx: LiveSessionContext, at: string) => plus(at, 3 * ctx.heartbeatMs);
/** "kind:id" of a grant's holder, as revokeWrite names them. */
const holder = (g: LiveGrant) => actorRef(g.to);

function endReason(e: LiveSessionEvent, ctx: LiveSessionContext): string {
  switch (e.type) {
    case 'failed':
    case 'end':
      return e.data.reason;
    case 'revoke':
      return e.data.reason ?? `revoked by ${actorRef(e.actor)}`;
    case 'expire':
      return `its TTL (${ctx.ttlMs >= 60_000 ? `${Math.round(ctx.ttlMs / 60_000)} min` : `${Math.round(ctx.ttlMs / 1_000)} s`}) is up`;
    case 'heartbeatMissed':
      return `its worker${ctx.instanceId ? ` (${ctx.instanceId})` : ''} missed three heartbeats (last ${ctx.lastHeartbeatAt ?? 'never'})`;
    default:
      return e.type;
  }
}

const end = (as: LiveSessionEnd) => ({
  target: `#liveSession.${as}` as const,
  actions: 'end' as const,
});

/** How a live session ends from any live state. */
const endings = {
  failed: end('error'),
  heartbeatMissed: { guard: 'heartbeatDue', ...end('error') },
  revoke: end('revoked'),
  expire: { guard: 'ttlDue', ...end('ended') },
  end: end('ended'),
} as const;

/**
 * A task run's live session: STARTING while its share comes up, READY with read-only attach
 * information, then REVOKED (an operator), ENDED (the run ended, its TTL ran out) or ERROR (the
 * provider failed, its worker stopped heartbeating). Write grants are per person, only while READY,
 * each with its own expiry; revoking write leaves watchers watching.
 */
export const liveSessionMachine = setup({
  types: { context: {} as LiveSessionContext, events: {} as LiveSessionEvent },
  guards: {
    ttlDue: ({ context, event }) => isDue(event.at, context.expiresAt),
    heartbeatDue: ({ context, event }) => isDue(event.at, context.heartbeatDueAt),
    grantDue: ({ context, event }) => context.grants.some((g) => isDue(event.at, g.expiresAt)),
    /** A revoke of write names someone who holds a grant, or everyone while someone does. */
    holdsGrant: ({ context, event }) =>
      event.type === 'revokeWrite' &&
      context.grants.some((g) => event.data.to === undefined || holder(g) === event.data.to),
  },
  actions: {
    open: assign(({ event }) =>
      event.type === 'open'
        ? {
            ...event.data,
            owner: event.actor,
            startedAt: event.at,
            expiresAt: plus(event.at, event.data.ttlMs),
            heartbeatDueAt: plus(event.at, 3 * event.data.heartbeatMs),
            grants: [],
          }
        : {},
    ),
    heartbeat: assign(({ context, event }) =>
      event.type === 'heartbeat'
        ? {
            lastHeartbeatAt: event.at,
            heartbeatDueAt: heartbeatDue(context, event.at),
            instanceId: event.data.instanceId,
          }
        : {},
    ),
    end: assign(({ context, event }) => ({
      endedAt: event.at,
      endedBy: actorRef(event.actor),
      endReason: endReason(event, context),
      heartbeatDueAt: undefined,
      grants: [],
    })),
  },
}).createMachine({
  id: 'liveSession',
  initial: 'absent',
  context: {
    taskRunId: '',
    terminalId: '',
    provider: 'native',
    ttlMs: 0,
    rwTtlMs: 0,
    allowWeb: false,
    heartbeatMs: 1,
    owner: { kind: 'system', id: 'nobody' },
    startedAt: new Date(0).toISOString(),
    expiresAt: new Date(0).toISOString(),
    grants: [],
  },
  states: {
    absent: { on: { open: { target: 'starting', actions: 'open' } } },
    starting: {
      on: {
        ready: {
          target: 'ready',
          actions: assign(({ context, event }) =>
            event.type === 'ready'
              ? {
                  shareId: event.data.shareId,
                  ...(event.data.sealedReadOnly ? { sealedReadOnly: event.data.sealedReadOnly } : {}),
                  readyAt: event.at,
                  heartbeatDueAt: heartbeatDue(context, event.at),
                }
              : {},
          ),
        },
        heartbeat: { actions: 'heartbeat' },
        ...endings,
      },
    },
    ready: {
      on: {
        heartbeat: { actions: 'heartbeat' },
        grantWrite: {
          actions: assign(({ context, event }) => {
            if (event.type !== 'grantWrite') return {};
            const grant: LiveGrant = {
              to: event.data.to,
              participantId: event.data.participantId,
              grantedAt: event.at,
              expiresAt: plus(event.at, event.data.ttlMs),
            };
            // One grant per person: granting again renews it.
            return { grants: [...context.grants.filter((g) => holder(g) !== holder(grant)), grant] };
          }),
        },
        revokeWrite: {
          guard: 'holdsGrant',
          actions: assign(({ context, event }) =>
            event.type === 'revokeWrite'
              ? { grants: context.grants.filter((g) => event.data.to !== undefined && holder(g) !== event.data.to) }
              : {},
          ),
        },
        writeExpired: {
          guard: 'grantDue',
          actions: assign(({ context, event }) => ({
            grants: context.grants.filter((g) => !isDue(event.at, g.expiresAt)),
          })),
        },
        ...endings,
      },
    },
    revoked: { type: 'final' },
    ended: { type: 'final' },
    error: { type: 'final' },
  },
});

const LIVE = new Set(['starting', 'ready']);
/** Starting or ready: not yet revoked, ended or in error. */
export const isLiveSessionUp = (value: unknown) => LIVE.has(String(value));

export function liveSessionDeadlines(value: unknown, ctx: LiveSessionContext): Deadline[] {
  if (!isLiveSessionUp(value)) return [];
  const out: Deadline[] = [{ verb: 'expire', at: ctx.expiresAt }];
  if (ctx.heartbeatDueAt) out.push({ verb: 'heartbeatMissed', at: ctx.heartbeatDueAt });
  const first = ctx.grants.map((g) => g.expiresAt).sort()[0];
  if (first) out.push({ verb: 'writeExpired', at: first });
  return out;
}

const over: Reason<LiveSessionContext> = ({ id, state, context, event }) => ({
  reason: `LIVE_SESSION_${state.toUpperCase()}`,
  message: `live session ${id} is ${state === 'error' ? 'in error' : state} since ${context.endedAt} (${context.endReason}); ${event.type} is not possible`,
});

/** Why a live session refuses a command, in words an operator can act on. */
export const liveSessionRejections: RejectionTable<LiveSessionContext> = {
  guards: {
    ttlDue: ({ id, context }) => ({
      reason: 'LIVE_SESSION_NOT_DUE',
      message: `live session ${id} runs until ${context.expiresAt}`,
    }),
    heartbeatDue: ({ id, context }) => ({
      reason: 'LIVE_SESSION_HEARTBEAT_NOT_DUE',
      message: `live session ${id} heard from its worker at ${context.lastHeartbeatAt ?? context.startedAt}; it is due by ${context.heartbeatDueAt}`,
    }),
    grantDue: ({ id }) => ({ reason: 'LIVE_GRANT_NOT_DUE', message: `no write grant of live session ${id} is due` }),
    holdsGrant: ({ id, event }) => ({
      reason: 'LIVE_NO_GRANT',
      message: `${event.data.to ?? 'nobody'} holds no write grant in live session ${id}; nothing to revoke`,
    }),
  },
  states: {
    revoked: over,
    ended: over,
    error: over,
    starting: ({ id, event }) => ({
      reason: 'LIVE_SESSION_NOT_READY',
      message: `live session ${id} is still starting; ${event.type === 'grantWrite' ? 'write grants are possible once it is READY' : `${event.type} is possible once it is READY`}`,
    }),
  },
};
