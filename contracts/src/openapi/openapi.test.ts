import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { entityContracts } from '../entities.ts';
import { openApiDocument } from './document.ts';
import { OPENAPI_PATH, renderOpenApi } from './write.ts';

describe('openapi', () => {
  it('the committed contracts/openapi.json matches the zod contracts (run `npm run openapi` to refresh)', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(renderOpenApi());
  });

  it('has a command route per entity verb with its data schema', () => {
    const doc = openApiDocument();
    for (const [entity, verbs] of Object.entries(entityContracts)) {
      for (const verb of Object.keys(verbs)) expect(doc.paths).toHaveProperty([`/v1/commands/${entity}/${verb}`]);
    }
    expect(doc.paths).toHaveProperty(['/v1/commands/session/ensure']);
    expect(doc.paths).toHaveProperty(['/v1/workspaces/{ws}/lanes/{lane}/terminals']);
    const create = doc.components.schemas.LeaseCreateCommand as {
      properties: { data: { properties: Record<string, unknown>; required?: string[] } };
    };
    expect(Object.keys(create.properties.data.properties)).toEqual(['holder', 'ttlMs']);
    expect(create.properties.data.required).toEqual(['holder']);
  });
});
