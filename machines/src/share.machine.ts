import { and, assign, setup } from 'xstate';
import type { Actor, ShareEndReason, VerbData, shareContract } from '@tether/contracts';
import { actorRef } from '@tether/contracts';
import type { Deadline } from './entity.ts';
import type { Reason, ReasonInput, RejectionTable } from './rejections.ts';

type C = typeof shareContract;
export type ShareEvent = {
  [V in keyof C & string]: { type: V; data: VerbData<C, V>; at: string; actor: Actor };
}[keyof C & string];
type Req = VerbData<C, 'request'>;

export interface Participant {
  name: string;
  tokenHash: string;
  access: 'read' | 'write';
  writeUntil?: string;
  /** Open connections (browser tabs, CLI attaches) of this participant. */
  connections: number;
  invitedAt: string;
  joinedAt?: string;
  kicked?: boolean;
}

export interface ShareContext extends Omit<Req, 'policy'> {
  policy: Req['policy'];
  owner: Actor;
  requestedAt: string;
  approvalId?: string;
  expiresAt?: string;
  /** When the share's clock started (request, or approval): its whole life, extensions included, stays within maxTtlMs of this. */
  clockAt?: string;
  warnAt?: string;
  warnedAt?: string;
  startedAt?: string;
  workerPid?: number;
  sealedLinks?: string;
  extensions: number;
  participants: Record<string, Participant>;
  endReason?: ShareEndReason;
  endDetail?: string;
  endedAt?: string;
  endedBy?: string;
  switchedTo?: string;
}

const plus = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();
const isDue = (at: string, deadline: string | undefined) =>
  deadline !== undefined && Date.parse(at) >= Date.parse(deadline);
const participantOf = (ctx: ShareContext, data: unknown) =>
  ctx.participants[(data as { participantId?: string }).participantId ?? ''];
const LIVE = ['awaitingApproval', 'starting', 'active', 'expiring'];

/** The clock of a share that may start now: expiry and grace period from `at`. */
const clockFrom = (ctx: Pick<ShareContext, 'ttlMs' | 'warnBeforeMs'>, at: string) => {
  const expiresAt = plus(at, ctx.ttlMs);
  return { expiresAt, clockAt: at, warnAt: plus(expiresAt, -ctx.warnBeforeMs), warnedAt: undefined };
};

/** Shares recorded before clockAt existed started their clock at start (or request). */
const clockOrigin = (ctx: ShareContext) => ctx.clockAt ?? ctx.startedAt ?? ctx.requestedAt;

const end = (reason: ShareEndReason) => ({
  target: '#share.ended' as const,
  actions: { type: 'end' as const, params: { reason } },
});

function detailOf(e: ShareEvent): string | undefined {
  if (e.type === 'rejected' || e.type === 'failed' || e.type === 'terminate') return e.data.reason;
  if (e.type === 'revoke') return e.data.reason ?? `revoked by ${actorRef(e.actor)}`;
  if (e.type === 'switch') return `switched to share ${e.data.toShareId}`;
  if (e.type === 'expire') return 'the share reached its expiry time';
  return undefined;
}

/**
 * A participant's name unique within the share: a name taken before (kicked participants' too, so the audit
 * trail never names two people alike) gets the first free suffix: bob, bob-2, bob-3, …
 */
export function uniqueParticipantName(participants: Record<string, Pick<Participant, 'name'>>, name: string): string {
  const taken = new Set(Object.values(participants).map((p) => p.name));
  if (!taken.has(name)) return name;
  let n = 2;
  while (taken.has(`${name}-${n}`)) n++;
  return `${name}-${n}`;
}

/** The participant an event names, changed by `fn`. */
const withParticipant = (ctx: ShareContext, e: ShareEvent, fn: (p: Participant) => Partial<Participant>) => {
  const id = (e.data as { participantId: string }).participantId;
  return { participants: { ...ctx.participants, [id]: { ...ctx.participants[id]!, ...fn(ctx.participants[id]!) } } };
};

/**
 * Every share not ended: revoke, terminal closed, switch, participant management. Who may do these
 * (the owner or an operator) is the authorization table's to decide (contracts/authorization.ts).
 */
const common = {
  revoke: end('revoked'),
  terminate: end('terminated'),
  switch: end('switched'),
  invite: { guard: 'newParticipant', actions: 'invite' },
  kick: { guard: 'mayManage', actions: 'kick' },
  grantWrite: { guard: 'mayGrant', actions: 'grantWrite' },
  revokeWrite: { guard: 'mayRevokeWrite', actions: 'revokeWrite' },
  writeExpired: { guard: 'grantDue', actions: 'expireGrants' },
} as const;

/** Connected participants and running worker: a share that has started. */
const running = {
  ...common,
  joined: { guard: 'participantWelcome', actions: 'joined' },
  left: { guard: 'participantKnown', actions: 'left' },
  failed: end('failed'),
  expire: { guard: 'expiryDue', ...end('expired') },
} as const;

/**
 * A share of a terminal: the policy decides at request; an approval may hold it; a worker starts
 * it; participants join with their own links; the owner extends it; it expires, is revoked, fails,
 * is switched or ends with its terminal. Deadlines (warn, expire, write grants) live in context.
 */
export const shareMachine = setup({
  types: { context: {} as ShareContext, events: {} as ShareEvent },
  guards: {
    allowed: ({ event }) => event.type === 'request' && event.data.policy.effect === 'allow',
    needsApproval: ({ event }) => event.type === 'request' && event.data.policy.effect === 'approval',
    newParticipant: ({ context, event }) => event.type === 'invite' && !context.participants[event.data.participantId],
    participantKnown: ({ context, event }) => !!participantOf(context, event.data),
    notKicked: ({ context, event }) => !participantOf(context, event.data)?.kicked,
    writeShare: ({ context }) => context.access === 'write',
    hasWriteGrant: ({ context, event }) => participantOf(context, event.data)?.access === 'write',
    mayManage: and(['participantKnown', 'notKicked']),
    mayGrant: and(['participantKnown', 'notKicked', 'writeShare']),
    mayRevokeWrite: and(['participantKnown', 'notKicked', 'hasWriteGrant']),
    participantWelcome: and(['participantKnown', 'notKicked']),
    grantDue: ({ context, event }) => Object.values(context.participants).some((p) => isDue(event.at, p.writeUntil)),
    expiryDue: ({ context, event }) => isDue(event.at, context.expiresAt),
    warnDue: ({ context, event }) => isDue(event.at, context.warnAt),
    notExpired: ({ context, event }) => !isDue(event.at, context.expiresAt),
    /** The share's whole life, extensions included, stays within maxTtlMs of when its clock started. */
    withinMaxTtl: ({ context, event }) =>
      event.type === 'extend' &&
      Date.parse(plus(context.expiresAt!, event.data.ttlMs)) - Date.parse(clockOrigin(context)) <= context.maxTtlMs,
    mayExtend: and(['notExpired', 'withinMaxTtl']),
  },
  actions: {
    end: assign(({ event }, params: { reason: ShareEndReason }) => ({
      endReason: params.reason,
      endDetail: detailOf(event),
      endedAt: event.at,
      endedBy: actorRef(event.actor),
      ...(event.type === 'switch' ? { switchedTo: event.data.toShareId } : {}),
    })),
    invite: assign(({ context, event }) =>
      event.type === 'invite'
        ? {
            participants: {
              ...context.participants,
              [event.data.participantId]: {
                name: uniqueParticipantName(context.participants, event.data.name),
                tokenHash: event.data.tokenHash,
                access: 'read' as const,
                connections: 0,
                invitedAt: event.at,
              },
            },
          }
        : {},
    ),
    kick: assign(({ context, event }) =>
      withParticipant(context, event, () => ({ kicked: true, access: 'read', writeUntil: undefined, connections: 0 })),
    ),
    grantWrite: assign(({ context, event }) =>
      event.type === 'grantWrite'
        ? withParticipant(context, event, () => ({ access: 'write', writeUntil: plus(event.at, event.data.ttlMs) }))
        : {},
    ),
    revokeWrite: assign(({ context, event }) =>
      withParticipant(context, event, () => ({ access: 'read', writeUntil: undefined })),
    ),
    expireGrants: assign(({ context, event }) => ({
      participants: Object.fromEntries(
        Object.entries(context.participants).map(([id, p]) => [
          id,
          isDue(event.at, p.writeUntil) ? { ...p, access: 'read' as const, writeUntil: undefined } : p,
        ]),
      ),
    })),
    joined: assign(({ context, event }) =>
      withParticipant(context, event, (p) => ({ connections: p.connections + 1, joinedAt: p.joinedAt ?? event.at })),
    ),
    left: assign(({ context, event }) =>
      withParticipant(context, event, (p) => ({ connections: Math.max(0, p.connections - 1) })),
    ),
    markWarned: assign(({ event }) => ({ warnedAt: event.at })),
    recordStart: assign(({ event }) =>
      event.type === 'started'
        ? { startedAt: event.at, workerPid: event.data.workerPid, sealedLinks: event.data.sealedLinks }
        : {},
    ),
    extend: assign(({ context, event }) => {
      if (event.type !== 'extend') return {};
      const expiresAt = plus(context.expiresAt!, event.data.ttlMs);
      return {
        expiresAt,
        warnAt: plus(expiresAt, -context.warnBeforeMs),
        warnedAt: undefined,
        extensions: context.extensions + 1,
      };
    }),
  },
}).createMachine({
  id: 'share',
  initial: 'absent',
  context: {
    terminalId: '',
    laneId: '',
    backend: 'native',
    access: 'read',
    ttlMs: 0,
    maxTtlMs: 0,
    warnBeforeMs: 0,
    policy: { effect: 'deny', ruleId: null, reason: '' },
    owner: { kind: 'system', id: 'nobody' },
    requestedAt: new Date(0).toISOString(),
    extensions: 0,
    participants: {},
  },
  states: {
    absent: {
      on: {
        request: [
          {
            guard: 'allowed',
            target: 'starting',
            actions: assign(({ event }) =>
              event.type === 'request' ? { ...requested(event), ...clockFrom(event.data, event.at) } : {},
            ),
          },
          {
            guard: 'needsApproval',
            target: 'awaitingApproval',
            actions: assign(({ event }) => (event.type === 'request' ? requested(event) : {})),
          },
          {
            target: 'ended',
            actions: assign(({ event }) =>
              event.type === 'request'
                ? {
                    ...requested(event),
                    endReason: 'denied' as const,
                    endDetail: event.data.policy.reason,
                    endedAt: event.at,
                    endedBy: 'policy',
                  }
                : {},
            ),
          },
        ],
      },
    },
    awaitingApproval: {
      on: {
        ...common,
        approved: {
          target: 'starting',
          actions: assign(({ context, event }) => ({
            ...clockFrom(context, event.at),
            ...(event.type === 'approved' ? { approvalId: event.data.approvalId } : {}),
          })),
        },
        rejected: end('denied'),
      },
    },
    starting: {
      on: {
        ...running,
        // Even a share that starts inside its grace period goes through active: the warn deadline,
        // already due, fires at once, so owner and participants get the warning event.
        started: { target: 'active', actions: 'recordStart' },
      },
    },
    active: {
      on: {
        ...running,
        warn: { guard: 'warnDue', target: 'expiring', actions: 'markWarned' },
        extend: { guard: 'mayExtend', actions: 'extend' },
      },
    },
    expiring: {
      on: { ...running, extend: { guard: 'mayExtend', target: 'active', actions: 'extend' } },
    },
    ended: { type: 'final' },
  },
});

function requested(e: Extract<ShareEvent, { type: 'request' }>): Partial<ShareContext> {
  return { ...e.data, owner: e.actor, requestedAt: e.at };
}

export const isLiveShare = (value: unknown) => LIVE.includes(String(value));

/** Whether a participant's keystrokes go through at `now`: a started, unexpired share and their own unexpired write grant. */
export function participantMayType(value: unknown, ctx: ShareContext, participantId: string, now: number): boolean {
  const p = ctx.participants[participantId];
  const started = value === 'active' || value === 'expiring';
  return (
    started &&
    !!p &&
    !p.kicked &&
    p.access === 'write' &&
    !!p.writeUntil &&
    Date.parse(p.writeUntil) > now &&
    !!ctx.expiresAt &&
    Date.parse(ctx.expiresAt) > now
  );
}

export function shareDeadlines(value: unknown, ctx: ShareContext): Deadline[] {
  if (!['starting', 'active', 'expiring'].includes(String(value))) return [];
  const out: Deadline[] = [];
  if (ctx.expiresAt) out.push({ verb: 'expire', at: ctx.expiresAt });
  if (value === 'active' && ctx.warnAt) out.push({ verb: 'warn', at: ctx.warnAt });
  const grant = Object.values(ctx.participants)
    .map((p) => p.writeUntil)
    .filter((t): t is string => !!t)
    .sort()[0];
  if (grant) out.push({ verb: 'writeExpired', at: grant });
  return out;
}

const notActive: Reason<ShareContext> = ({ id, state }) => ({
  reason: 'SHARE_NOT_ACTIVE',
  message: `share ${id} is ${state}; extend it once it is active`,
});
const pid = (event: ReasonInput['event']) => (event.data as { participantId?: string }).participantId;

/** Why a share refuses a command, in words an operator can act on: by the guard that said no, or by its state. */
export const shareRejections: RejectionTable<ShareContext> = {
  guards: {
    newParticipant: ({ id, event }) => ({
      reason: 'PARTICIPANT_EXISTS',
      message: `share ${id} already has a participant ${pid(event)}; pick another id`,
    }),
    participantKnown: ({ id, event }) => ({
      reason: 'PARTICIPANT_UNKNOWN',
      message: `share ${id} has no participant ${pid(event)}; see its participants`,
    }),
    notKicked: ({ id, event }) => ({
      reason: 'PARTICIPANT_KICKED',
      message: `participant ${pid(event)} was kicked from share ${id}; invite them again for a new link`,
    }),
    writeShare: ({ id }) => ({
      reason: 'SHARE_READ_ONLY',
      message: `share ${id} is read-only; create a share with access "write" to grant input`,
    }),
    hasWriteGrant: ({ id, event }) => ({
      reason: 'PARTICIPANT_READ_ONLY',
      message: `participant ${pid(event)} of share ${id} has no write grant`,
    }),
    notExpired: ({ id, context }) => ({
      reason: 'SHARE_EXPIRED',
      message: `share ${id} expired at ${context.expiresAt}; extend is not possible, create a new share`,
    }),
    withinMaxTtl: ({ id, context, event }) => {
      const room = context.maxTtlMs - (Date.parse(context.expiresAt!) - Date.parse(clockOrigin(context)));
      return {
        reason: 'SHARE_TTL_MAX',
        message: `share ${id} may live at most ${context.maxTtlMs / 60_000} min in all (from ${clockOrigin(context)}); it expires at ${context.expiresAt}, so it can be extended by at most ${Math.max(0, Math.floor(room / 1_000))} s, not ${Math.floor((event.data.ttlMs ?? 0) / 1_000)} s`,
      };
    },
    expiryDue: ({ id, context }) => ({
      reason: 'SHARE_NOT_DUE',
      message: `share ${id} runs until ${context.expiresAt}; it cannot expire before then`,
    }),
    warnDue: ({ id, context }) => ({
      reason: 'SHARE_WARN_NOT_DUE',
      message: `share ${id} enters its grace period at ${context.warnAt}`,
    }),
    grantDue: ({ id }) => ({ reason: 'GRANT_NOT_DUE', message: `no write grant of share ${id} is due` }),
  },
  states: {
    ended: ({ id, context, event }) => {
      const how =
        context.endReason === 'expired'
          ? 'expired'
          : context.endReason === 'denied'
            ? 'was denied'
            : `ended (${context.endReason})`;
      const hint =
        event.type === 'extend' ? '; extend is not possible, create a new share' : `; ${event.type} is not possible`;
      return {
        reason: `SHARE_${(context.endReason ?? 'ended').toUpperCase()}`,
        message: `share ${id} ${how} at ${context.endedAt}${context.endDetail ? ` (${context.endDetail})` : ''}${hint}`,
      };
    },
    awaitingApproval: {
      extend: notActive,
      joined: ({ id, state }) => ({
        reason: 'SHARE_NOT_STARTED',
        message: `share ${id} is ${state}; participants can join once it is active`,
      }),
      '*': ({ id, context, event }) => ({
        reason: 'SHARE_AWAITING_APPROVAL',
        message: `share ${id} waits for approval ${context.approvalId ?? id}; ${event.type} is not possible yet`,
      }),
    },
    starting: { extend: notActive },
  },
};
