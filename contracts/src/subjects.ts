import { TetherError } from './errors.ts';
import { Token } from './ids.ts';

export const STREAM_EVENTS = 'TETHER_EVENTS';
export const EVT_PREFIX = 'tether.evt';
export const CMD_PREFIX = 'tether.cmd';

export const subjects = {
  command: (entity: string, verb: string) => `${CMD_PREFIX}.${entity}.${verb}`,
  allCommands: `${CMD_PREFIX}.>`,
  event: (entity: string, entityId: string) => `${EVT_PREFIX}.${entity}.${entityToken(entity, entityId)}`,
  entityEvents: (entity: string) => `${EVT_PREFIX}.${entity}.*`,
  allEvents: `${EVT_PREFIX}.>`,
} as const;

export const HANDOFF_PREFIX = 'tether.handoff';

/**
 * Notifications to a handoff's receiver on core NATS (not stored: a receiver that was not listening
 * finds the offer in its inbox, GET /v1/handoffs/inbox or `tether handoff inbox`):
 * tether.handoff.<kind>.<id>.offered carries a HandoffOffer (the handoff, who gives it, the captured
 * context and how to accept) once the context is captured. An id that is not a subject token
 * (dots, spaces …) is written "=" + its base64url, so one actor is always one token.
 */
export const handoffSubjects = {
  offered: (to: { kind: string; id: string }) => `${HANDOFF_PREFIX}.${to.kind}.${actorToken(to.id)}.offered`,
  /** Everything offered to anyone: tether.handoff.*.*.offered. */
  allOffered: `${HANDOFF_PREFIX}.*.*.offered`,
} as const;

export const RECOVERY_PREFIX = 'tether.recovery';

/**
 * A recovery run's progress on core NATS (not stored: the run's events and GET /v1/recovery keep it):
 * tether.recovery.<installation>.status carries the RecoveryStatusView after each stage and at the end,
 * so ops (and `nats sub 'tether.recovery.>'`) can watch a tether come back without polling.
 */
export const recoverySubjects = {
  status: (installationId: string) => `${RECOVERY_PREFIX}.${actorToken(installationId)}.status`,
  all: `${RECOVERY_PREFIX}.>`,
} as const;

export const TASK_PREFIX = 'tether.task';

/**
 * A task run's operator messages on core NATS (also in its inbox file and its events):
 * tether.task.<run>.inbox carries an OperatorMessage for agents that subscribe.
 */
export const taskSubjects = {
  inbox: (taskRunId: string) => `${TASK_PREFIX}.${entityToken('taskRun', taskRunId)}.inbox`,
  allInboxes: `${TASK_PREFIX}.*.inbox`,
} as const;

function actorToken(id: string): string {
  return Token.safeParse(id).success ? id : `=${Buffer.from(id, 'utf8').toString('base64url')}`;
}

/** An entity id as a subject token; an id that cannot be one is the caller's error (400), not an INTERNAL one. */
function entityToken(entity: string, entityId: string): string {
  const r = Token.safeParse(entityId);
  if (!r.success)
    throw new TetherError(
      'INVALID_COMMAND',
      `"${String(entityId).slice(0, 64)}" is not a valid ${entity} id: ${r.error.issues[0]?.message}`,
      { issues: [{ path: ['entityId'], message: r.error.issues[0]?.message ?? 'invalid' }] },
    );
  return r.data;
}

/** Splits tether.cmd.<entity>.<verb...> into its parts; verbs may contain dots. */
export function parseCommandSubject(subject: string): { entity: string; verb: string } | undefined {
  const parts = subject.split('.');
  if (parts.length < 4 || parts[0] !== 'tether' || parts[1] !== 'cmd') return undefined;
  return { entity: parts[2]!, verb: parts.slice(3).join('.') };
}

export function parseEventSubject(subject: string): { entity: string; entityId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'tether' || parts[1] !== 'evt') return undefined;
  return { entity: parts[2]!, entityId: parts[3]! };
}

/** NATS subject filter semantics: `*` one token, `>` the rest. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

export const kvBucket = (model: string) => `tether_${model}`;

/** Read model of every actor's state and context, kept by the `actors` projection. */
export const ACTORS_BUCKET = kvBucket('actors');
