import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BODY_IDS, ID_PARAMS, NAME_PARAMS, routes, type RouteSpec } from '@tether/contracts';

describe('id prefixes', () => {
  it('know every path parameter of the route table: an entity id (resolved from a prefix) or a name', () => {
    const params = Object.values(routes as Record<string, RouteSpec>).flatMap((r) =>
      Object.keys(r.params?.shape ?? {}),
    );
    const unknown = [...new Set(params)].filter((p) => !Object.hasOwn(ID_PARAMS, p) && !NAME_PARAMS.has(p));
    expect(unknown, 'add each to ID_PARAMS (contracts/src/http/id-params.ts) or NAME_PARAMS').toEqual([]);
  });

  it('resolve body fields only of routes whose body has them', () => {
    for (const [op, fields] of Object.entries(BODY_IDS)) {
      const body = (routes as Record<string, RouteSpec>)[op]?.body?.schema;
      expect(body, op).toBeInstanceOf(z.ZodObject);
      for (const field of Object.keys(fields)) expect(Object.keys((body as z.ZodObject).shape), op).toContain(field);
    }
  });
});
