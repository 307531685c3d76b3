import type { Capability, CapabilityDeps } from '@tether/runtime';
import { AuditProjector, auditLogFor, loadAuditKey } from './audit/index.ts';
import { auditRoutes } from './audit.routes.ts';

/** Who did what, when and why, redacted and hash-chained, for ops on tether.audit.> and GET /v1/audit. */
export async function startAuditTrail(deps: CapabilityDeps): Promise<Capability> {
  const log = await auditLogFor(deps.store, {
    key: loadAuditKey(deps.home),
    logger: deps.logger,
    replicas: deps.config.TETHER_REPLICAS,
  });
  return {
    name: 'audit',
    commands: {},
    preconditions: {},
    reactors: [new AuditProjector(deps.store, log, { logger: deps.logger })],
    routes: auditRoutes(log, deps.store),
    stop: () => log.close(),
  };
}
