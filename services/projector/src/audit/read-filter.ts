import type { AuditRecord } from '@tether/contracts';
import type { AuditReadOptions } from './audit-log.ts';
import { actorKey } from '../views/lane-family.ts';

export const DEFAULT_AUDIT_READ_LIMIT = 100;

/** Whether a record passes the entity / entityId / actors filter of a read. */
export const matchesRead = (r: AuditRecord, o: AuditReadOptions) =>
  (!o.entity || r.entity === o.entity) &&
  (!o.entityId || r.entityId === o.entityId) &&
  (!o.actors || o.actors.has(actorKey(r.entity, r.entityId)));

/** The verb part of "<entity>.<verb>". */
export const verbOf = (r: Pick<AuditRecord, 'action' | 'entity'>) => r.action.slice(r.entity.length + 1);
