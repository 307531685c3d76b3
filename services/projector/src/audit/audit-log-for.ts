import { join } from 'node:path';
import { TetherError } from '@tether/contracts';
import type { AuditStreamOptions } from '@tether/infra';
import { EmbeddedEventStore, JetStreamEventStore, loadKeyFile, type EventStore, type Logger } from '@tether/runtime';
import type { AuditLog } from './audit-log.ts';
import { FileAuditLog } from './file-audit-log.ts';
import { JetStreamAuditLog } from './jetstream-audit-log.ts';

export interface AuditLogForOptions extends AuditStreamOptions {
  /** tether's audit key: the chain's HMAC key (see loadAuditKey). */
  key: Buffer;
  /** Folder of the file adapter (default: <embedded store dir>/audit). */
  dir?: string;
  logger?: Logger;
}

/** tether's audit key, `audit.key` in the data folder (0600), made at the first start. */
export const loadAuditKey = (home: string) =>
  loadKeyFile(
    join(home, 'audit.key'),
    'records written with the old key no longer verify; keep a copy to check them with',
  );

/** TETHER_AUDIT on the event store's NATS connection, or an append-only file beside the embedded store. */
export async function auditLogFor(store: EventStore, opts: AuditLogForOptions): Promise<AuditLog> {
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
  return FileAuditLog.open(dir, { key: opts.key, logger: opts.logger });
}
