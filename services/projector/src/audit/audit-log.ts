import { join } from 'node:path';
import { TetherError, type AuditEntry, type AuditRecord } from '@tether/contracts';
import type { AuditStreamOptions } from '@tether/infra';
import { EmbeddedEventStore, JetStreamEventStore, type EventStore, type Logger } from '@tether/runtime';
import type { ChainVerdict } from './audit-record.ts';
import { FileAuditLog } from './file-audit-log.ts';
import { JetStreamAuditLog } from './jetstream-audit-log.ts';

export interface AuditReadOptions {
  /** Records after this audit seq, oldest first; absent: the newest `limit` records. */
  afterSeq?: number;
  entity?: string;
  entityId?: string;
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

export interface AuditLogForOptions extends AuditStreamOptions {
  /** Folder of the file adapter (default: <embedded store dir>/audit). */
  dir?: string;
  logger?: Logger;
}

/** TETHER_AUDIT on the event store's NATS connection, or an append-only file beside the embedded store. */
export async function auditLogFor(store: EventStore, opts: AuditLogForOptions = {}): Promise<AuditLog> {
  if (store.kind === 'jetstream') {
    if (!(store instanceof JetStreamEventStore))
      throw new TetherError(
        'INTERNAL',
        'a jetstream event store without a NATS connection cannot host the audit stream',
      );
    return JetStreamAuditLog.open(store.nc, opts);
  }
  const dir = opts.dir ?? (store instanceof EmbeddedEventStore ? join(store.dir, 'audit') : undefined);
  if (!dir) throw new TetherError('INTERNAL', 'the file audit log needs a folder: pass { dir }');
  return FileAuditLog.open(dir, { logger: opts.logger });
}
