import { describe, expect, it } from 'vitest';
import { ID_PARAMS, NAME_PARAMS, routes, type RouteSpec } from '@tether/contracts';

describe('id prefixes', () => {
  it('know every path parameter of the route table: an entity id (resolved from a prefix) or a name', () => {
    const params = Object.values(routes as Record<string, RouteSpec>).flatMap((r) =>
      Object.keys(r.params?.shape ?? {}),
    );
    const unknown = [...new Set(params)].filter((p) => !Object.hasOwn(ID_PARAMS, p) && !NAME_PARAMS.has(p));
    expect(unknown, 'add each to ID_PARAMS (contracts/src/http/id-params.ts) or NAME_PARAMS').toEqual([]);
  });
});
