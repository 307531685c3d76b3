import { AuditQuery, invalid, type AuditList, type AuditVerdict } from '@tether/contracts';
import type { Routes } from '@tether/runtime';
import type { AuditLog } from './audit/index.ts';

/** The audit trail over HTTP: audit.list (newest first page, or after a seq) and audit.verify. */
export function auditRoutes(audit: AuditLog): Routes {
  return {
    'audit.list': async (req): Promise<AuditList> => {
      const q = AuditQuery.safeParse(withoutEmpty(req.query));
      if (!q.success) throw invalid('invalid audit query', q.error);
      const items = await audit.read({
        afterSeq: q.data.after,
        entity: q.data.entity,
        entityId: q.data.entity_id,
        limit: q.data.limit,
      });
      return { items };
    },
    'audit.verify': async (): Promise<AuditVerdict> => audit.verify(),
  };
}

/** `?after=` means "not given", not 0. */
function withoutEmpty(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) if (v !== '') out[k] = v;
  return out;
}
