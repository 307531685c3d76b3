export * from './projection.ts';
export * from './actors.projection.ts';

import type { EntityDefinition } from '@tether/machines';
import { actorsProjection } from './actors.projection.ts';

/** The read models `tether up` keeps, by name (what `tether projections rebuild <name>` accepts). */
export function projections(registry: Record<string, EntityDefinition>) {
  return { actors: actorsProjection(registry) };
}
export * from './audit/index.ts';
export * from './views/index.ts';
export * from './audit.routes.ts';
export * from './audit-trail.capability.ts';
