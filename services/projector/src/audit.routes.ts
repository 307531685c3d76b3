import { AuditQuery, parseData, type AuditList, type AuditVerdict } from '@tether/contracts';
import { givenParams, type EventStore, type Routes } from '@tether/runtime';
import type { AuditLog } from './audit/index.ts';
import { laneFamily } from './views/lane-family.ts';

/** The audit trail over HTTP: audit.list (newest first page, or after a seq; of an entity or a lane) and audit.verify. */
export function auditRoutes(audit: AuditLog, store: EventStore): Routes {
  return {
    'audit.list': async (req): Promise<AuditList> => {
      const q = parseData(AuditQuery, 'audit query', givenParams(req.query));
      const items = await audit.read({
        afterSeq: q.after,
        entity: q.entity,
        entityId: q.entity_id,
        actors: q.lane_id ? await laneFamily(store, q.lane_id) : undefined,
        limit: q.limit,
      });
      return { items };
    },
    'audit.verify': async (): Promise<AuditVerdict> => audit.verify(),
  };
}
