import { z } from 'zod';
import { Actor, StateValue } from './envelope.ts';
import { EntityName, Iso, Token } from './ids.ts';

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

/** "<entity>.<verb>", the event type; verbs may contain dots (share.worker.ready). */
export const AuditAction = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/, 'an action is <entity>.<verb>');

/**
 * One line of the audit trail: who did what to which entity, when and why, redacted, and chained to
 * the record before it by `prevHash` (hash = sha256 of the canonical JSON of the record without `hash`).
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
    correlationId: z.string().min(1),
    causationId: z.string().min(1),
    /** The event's data after redaction. */
    data: z.record(z.string(), z.unknown()),
    prevHash: Sha256Hex.nullable(),
    hash: Sha256Hex,
  })
  .strict();
export type AuditRecord = z.infer<typeof AuditRecord>;

/** What a writer hands to the audit log; the log assigns seq, prevHash and hash. */
export const AuditEntry = AuditRecord.omit({ seq: true, prevHash: true, hash: true });
export type AuditEntry = z.infer<typeof AuditEntry>;

/** GET /v1/audit query: newest `limit` records when `after` is absent, else the next `limit` after that seq. */
export const AuditQuery = z
  .object({
    entity: EntityName.optional(),
    entity_id: Token.optional(),
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
    brokenAt: z.number().int().positive().optional(),
    why: z.string().optional(),
  })
  .strict();
export type AuditVerdict = z.infer<typeof AuditVerdict>;
