import type { AuditEntry, AuditRecord } from '@tether/contracts';
import type { ChainVerdict } from './audit-record.ts';

export interface AuditReadOptions {
  /** Records after this audit seq, oldest first; absent: the newest `limit` records. */
  afterSeq?: number;
  entity?: string;
  entityId?: string;
  /** Only records of these actors, as actorKey() names them (a lane's family). */
  actors?: ReadonlySet<string>;
  /** At most this many records (default 100). */
  limit?: number;
}

/**
 * The audit trail: append-only and hash-chained. An append of an event id already in the trail
 * returns the record written for it before, so a redelivered event is audited exactly once.
 */
export interface AuditLog {
  readonly kind: 'jetstream' | 'file';
  /** Assigns seq, prevHash and hash, and writes the record after the current last one. */
  append(entry: AuditEntry): Promise<AuditRecord>;
  read(opts?: AuditReadOptions): Promise<AuditRecord[]>;
  last(): Promise<AuditRecord | undefined>;
  /** Walks the whole trail: `{ok: true}` or the first broken seq and why. */
  verify(): Promise<ChainVerdict>;
  /** Releases what the adapter holds (the file lock); the NATS connection belongs to the event store. */
  close(): Promise<void>;
}
