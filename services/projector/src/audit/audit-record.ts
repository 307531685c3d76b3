import { createHash, createHmac } from 'node:crypto';
import { AUDIT_HASH_ALG, AuditRecord, type AuditEntry, type AuditVerdict } from '@tether/contracts';
import { LruMap } from '@tether/runtime';

/**
 * JSON with object keys sorted at every level and no whitespace, so a record hashes the same after
 * any JSON round trip (key order is the only thing JSON.stringify leaves open).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return canonicalJson(json.call(value));
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v))).join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue; // JSON drops these too
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * The hash of the canonical JSON of the record without its own `hash` (prevHash included): an
 * HMAC-SHA256 with `key` for a keyed record, a plain sha256 for one from before the chain was keyed.
 */
export function hashRecord(record: Omit<AuditRecord, 'hash'> | AuditRecord, key: Buffer): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  const text = canonicalJson(rest);
  return rest.alg === AUDIT_HASH_ALG
    ? createHmac('sha256', key).update(text).digest('hex')
    : createHash('sha256').update(text).digest('hex');
}

/** The record that follows `prev` in the chain (prev undefined: the first record), keyed with `key`. */
export function sealRecord(entry: AuditEntry, seq: number, prevHash: string | null, key: Buffer): AuditRecord {
  const unsealed = { ...entry, seq, prevHash, alg: AUDIT_HASH_ALG };
  return { ...unsealed, hash: hashRecord(unsealed, key) };
}

export type ChainVerdict = AuditVerdict;

/** How far back the verifier looks for a second record of the same event (redeliveries are recent). */
const DUPLICATE_LOOKBACK = 100_000;

/**
 * Checks records one at a time, so a long trail can be verified while it streams by: each is a valid
 * record, its seq is the next one, its prevHash is the previous record's hash, its hash matches (keyed
 * with tether's audit key; an unkeyed one only before the first keyed record), and its event was not
 * audited already (exactly once).
 */
export class ChainVerifier {
  private expectedSeq: number;
  private prevHash: string | null;
  private checked = 0;
  private unkeyed = 0;
  /** The first keyed record seen: from there on, a plain sha256 is a forgery, not an old record. */
  private keyedSince?: number;
  private broken?: { brokenAt: number; why: string };
  private readonly seen = new LruMap<string, number>(DUPLICATE_LOOKBACK);

  /** `anchor`: the record just before the first one checked (default: start of the trail), and whether it was keyed. */
  constructor(
    private readonly key: Buffer,
    anchor?: { seq: number; hash: string; alg?: string },
  ) {
    if (anchor?.alg === AUDIT_HASH_ALG) this.keyedSince = anchor.seq;
    this.expectedSeq = (anchor?.seq ?? 0) + 1;
    this.prevHash = anchor?.hash ?? null;
  }

  /** False once the chain is broken (later records are not looked at). */
  push(candidate: unknown, position?: number): boolean {
    if (this.broken) return false;
    const at = position ?? this.expectedSeq;
    const parsed = AuditRecord.safeParse(candidate);
    if (!parsed.success)
      return this.fail(
        at,
        `entry ${at} is not a valid audit record: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
    const r = parsed.data;
    if (r.seq !== this.expectedSeq) {
      return this.fail(
        this.expectedSeq,
        r.seq > this.expectedSeq
          ? `record ${this.expectedSeq} is missing (the next record found is ${r.seq})`
          : `record ${r.seq} appears again or out of order where ${this.expectedSeq} was expected`,
      );
    }
    if (r.prevHash !== this.prevHash)
      return this.fail(
        r.seq,
        `prevHash ${r.prevHash ?? 'null'} is not the hash of record ${r.seq - 1} (${this.prevHash ?? 'null'}): a record before it was changed, removed or inserted`,
      );
    if (r.alg === undefined && this.keyedSince !== undefined)
      return this.fail(
        r.seq,
        `record ${r.seq} has a plain sha256 hash, but the chain is keyed since record ${this.keyedSince}: tether did not write it (a forged append, or a record rewritten without the key)`,
      );
    const actual = hashRecord(r, this.key);
    if (actual !== r.hash)
      return this.fail(
        r.seq,
        r.alg === undefined
          ? `hash does not match the record's content (stored ${r.hash}, computed ${actual}): record ${r.seq} was changed`
          : `hash does not match the record's content under tether's audit key: record ${r.seq} was changed, forged without the key, or written by a tether with another audit.key`,
      );
    const first = this.seen.get(r.eventId);
    if (first !== undefined)
      return this.fail(r.seq, `event ${r.eventId} was audited twice (records ${first} and ${r.seq})`);
    this.seen.set(r.eventId, r.seq);
    if (r.alg === undefined) this.unkeyed++;
    else this.keyedSince ??= r.seq;
    this.checked++;
    this.expectedSeq = r.seq + 1;
    this.prevHash = r.hash;
    return true;
  }

  verdict(): ChainVerdict {
    const unkeyed = this.unkeyed > 0 ? { unkeyed: this.unkeyed } : {};
    return this.broken
      ? { ok: false, records: this.checked, ...unkeyed, ...this.broken }
      : { ok: true, records: this.checked, ...unkeyed };
  }

  private fail(brokenAt: number, why: string): false {
    this.broken = { brokenAt, why };
    return false;
  }
}

/** `{ok: true}` when every record links to the one before it, else the first broken seq and why. */
export function verifyChain(
  records: Iterable<unknown>,
  key: Buffer,
  anchor?: { seq: number; hash: string; alg?: string },
): ChainVerdict {
  const v = new ChainVerifier(key, anchor);
  for (const r of records) if (!v.push(r)) break;
  return v.verdict();
}
