import { join } from 'node:path';
import { TetherError } from '@tether/contracts';
import type { AuditStreamOptions } from '@tether/infra';
import { EmbeddedEventStore, JetStreamEventStore, type EventStore, type Logger } from '@tether/runtime';
import type { AuditLog } from './audit-log.ts';
import { FileAuditLog } from './file-audit-log.ts';
import { JetStreamAuditLog } from './jetstream-audit-log.ts';

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
