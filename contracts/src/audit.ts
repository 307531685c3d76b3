import { z } from 'zod';
import { Actor, StateValue } from './envelope.ts';
import { ShareEndReason } from './entities/sharing.ts';
import { EntityName, Iso, Token } from './ids.ts';
import { AccessMode, ShareBackend } from './policy.ts';

export const STREAM_AUDIT = 'TETHER_AUDIT';
export const AUDIT_PREFIX = 'tether.audit';

export const auditSubjects = {
  /** tether.audit.<entity>.<verb>: dots inside a verb become "_", so one action is one subject token. */
  record: (entity: string, verb: string) => `${AUDIT_PREFIX}.${entity}.${verb.replaceAll('.', '_')}`,
  entity: (entity: string) => `${AUDIT_PREFIX}.${entity}.*`,
  all: `${AUDIT_PREFIX}.>`,
} as const;

/** A sha256 digest, lowercase hex. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 digest in lowercase hex');

/**
 * How a record's hash is made: an HMAC-SHA256 with tether's audit key ($TETHER_HOME/audit.key), so
 * nobody without the key can append a record that verifies. Records written before the chain was
 * keyed have no `alg` and a plain sha256; once a keyed record is in the chain, every later one must be keyed.
 */
export const AuditHashAlg = z.literal('hmac-sha256');
export const AUDIT_HASH_ALG = AuditHashAlg.value;

/** "<entity>.<verb>", the event type; verbs may contain dots (share.worker.ready). */
export const AuditAction = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/, 'an action is <entity>.<verb>');

/**
 * One line of the audit trail: who did what to which entity, when and why, redacted, and chained to
 * the record before it by `prevHash` (hash = HMAC-SHA256, keyed with tether's audit key, of the
 * canonical JSON of the record without `hash`; see AuditHashAlg).
 */
export const AuditRecord = z
  .object({
    /** Position in the audit trail, 1-based, no gaps. */
    seq: z.number().int().positive(),
    eventId: z.string().min(1),
    /** Sequence of the audited event in TETHER_EVENTS. */
    streamSeq: z.number().int().positive(),
    at: Iso,
    action: AuditAction,
    entity: EntityName,
    entityId: Token,
    actor: Actor,
    /** The credential the actor authenticated with; absent for tether's own workers and timers. */
    credentialId: z.string().min(1).optional(),
    /** data.reason, data.note, or the state change the event made; null when none of these says anything. */
    reason: z.string().nullable(),
    state: StateValue,
    /** The flow that caused this event: the request's correlation id, or the one a report continues. */
    correlationId: z.string().min(1),
    causationId: z.string().min(1),
    /**
     * The correlation id of the entity's first event (a share's: the request that created it): the same
     * on every record of its life, whichever request, timer, worker or relay report caused this one.
     * Absent on records written before it existed.
     */
    originCorrelationId: z.string().min(1).optional(),
    /** The event's data after redaction. */
    data: z.record(z.string(), z.unknown()),
    /**
     * What an investigator needs that the event alone does not say, derived from the entity's history
     * (redacted like data); per action, see AuditDetails. Absent when there is nothing to add.
     */
    details: z.record(z.string(), z.unknown()).optional(),
    prevHash: Sha256Hex.nullable(),
    /** Absent: a record from before the chain was keyed (plain sha256). */
    alg: AuditHashAlg.optional(),
    hash: Sha256Hex,
  })
  .strict();
export type AuditRecord = z.infer<typeof AuditRecord>;

/** "kind:id", as views name actors. */
const ActorText = z.string().min(1);

/**
 * `details` of share records, derived by the audit projector from the share's events (seed 000, T013).
 * A share's start (share.request, and share.started when its backend is ready): terminal, backend, TTL, owner.
 */
export const ShareStartDetails = z
  .object({
    owner: ActorText,
    terminalId: Token,
    laneId: Token,
    backend: ShareBackend,
    access: AccessMode,
    ttlMs: z.number().int().positive(),
    /** Null while an approval holds the share: its clock starts when it is approved. */
    expiresAt: Iso.nullable(),
  })
  .strict();
export type ShareStartDetails = z.infer<typeof ShareStartDetails>;

/** share.extend: the expiry before and after. */
export const ShareExtendDetails = z
  .object({ previousExpiresAt: Iso, expiresAt: Iso, addedMs: z.number().int().positive() })
  .strict();
export type ShareExtendDetails = z.infer<typeof ShareExtendDetails>;

/** share.grantWrite: who may type, and until when. */
export const ShareGrantDetails = z.object({ participantId: Token, participant: z.string(), writeUntil: Iso }).strict();
export type ShareGrantDetails = z.infer<typeof ShareGrantDetails>;

/** Every event that ends a share (revoke, expire, terminate, failed, switch, rejected, a denied request). */
export const ShareEndDetails = z
  .object({
    endReason: ShareEndReason,
    endDetail: z.string().nullable(),
    /** Who ended it: the revoking actor, `system:timer` for an expiry, `policy` for a denial. */
    endedBy: ActorText,
    /** When its backend was ready; null when it never started. */
    startedAt: Iso.nullable(),
    /** From its start (or its request, when it never started) to its end. */
    durationMs: z.number().int().nonnegative(),
    /**
     * Viewer connections open when it ended, all cut off by the end: what the native relay reported
     * (its joined and left reports); null for tmate and upterm, whose relays do not tell tether.
     */
    viewersDisconnected: z.number().int().nonnegative().nullable(),
  })
  .strict();
export type ShareEndDetails = z.infer<typeof ShareEndDetails>;

/** What a writer hands to the audit log; the log assigns seq, prevHash, alg and hash. */
export const AuditEntry = AuditRecord.omit({ seq: true, prevHash: true, alg: true, hash: true });
export type AuditEntry = z.infer<typeof AuditEntry>;

/**
 * GET /v1/audit query: newest `limit` records when `after` is absent, else the next `limit` after that seq.
 * `lane_id`: only records of that lane and what belongs to it (its sessions, terminals, shares, handoffs,
 * task runs and their live sessions, and the approvals that held them).
 */
export const AuditQuery = z
  .object({
    entity: EntityName.optional(),
    entity_id: Token.optional(),
    lane_id: Token.optional(),
    after: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditList = z.object({ items: z.array(AuditRecord) }).strict();
export type AuditList = z.infer<typeof AuditList>;

/** GET /v1/audit/verify: whether the chain is intact, and if not the first broken seq and why. */
export const AuditVerdict = z
  .object({
    ok: z.boolean(),
    /** Records checked. */
    records: z.number().int().nonnegative(),
    /** Of those, records from before the chain was keyed: their plain sha256 proves order, not authorship. */
    unkeyed: z.number().int().nonnegative().optional(),
    brokenAt: z.number().int().positive().optional(),
    why: z.string().optional(),
  })
  .strict();
export type AuditVerdict = z.infer<typeof AuditVerdict>;
