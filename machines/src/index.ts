import { entityContracts } from '@tether/contracts';
import { defineEntity, type EntityDefinition } from './entity.ts';
import { explainLease, leaseDeadlines, leaseMachine } from './lease.machine.ts';

export * from './entity.ts';
export * from './lease.machine.ts';

export const lease = defineEntity({
  name: 'lease',
  machine: leaseMachine,
  contract: entityContracts.lease,
  deadlines: leaseDeadlines,
  explain: explainLease,
});

/** Every entity the runtime hosts, by name. */
export const registry: Record<string, EntityDefinition> = { lease };
