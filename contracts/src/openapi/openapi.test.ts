import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { entityContracts, publicCommands } from '../entities.ts';
import {
  type RouteBody,
  type RouteParams,
  type RouteReply,
  type RouteSpec,
  routerPath,
  routes,
} from '../http/routes.ts';
import { openApiDocument } from './document.ts';
import { OPENAPI_PATH, renderOpenApi } from './write.ts';

const table = Object.entries(routes) as [string, RouteSpec][];
type Operation = {
  operationId: string;
  responses: Record<string, { content: Record<string, { 'x-events'?: Record<string, unknown> }> }>;
};
const operationOf = (doc: ReturnType<typeof openApiDocument>, path: string, method: string) =>
  (doc.paths[path] as Record<string, Operation> | undefined)?.[method.toLowerCase()];

describe('openapi', () => {
  it('the committed contracts/openapi.json matches the route table (run `npm run openapi` to refresh)', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(renderOpenApi());
  });

  it('has every route of the table under its path, method and operation id', () => {
    const doc = openApiDocument();
    const missing = table
      .filter(([id]) => id !== 'command')
      .filter(([id, r]) => operationOf(doc, r.path, r.method)?.operationId !== id)
      .map(([id, r]) => `${id}: ${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    const ids = new Set(table.map(([id]) => id));
    const extra = Object.entries(doc.paths)
      .filter(([path]) => !path.startsWith('/v1/commands/'))
      .flatMap(([, ops]) => Object.values(ops as Record<string, Operation>).map((op) => op.operationId))
      .filter((id) => !ids.has(id));
    expect(extra).toEqual([]);
  });

  it('has a command route per public command with its data schema, and none for an internal verb', () => {
    const doc = openApiDocument();
    const offered = new Set(publicCommands().map((c) => `${c.entity}.${c.verb}`));
    for (const [entity, verbs] of Object.entries(entityContracts)) {
      for (const verb of Object.keys(verbs))
        expect(operationOf(doc, `/v1/commands/${entity}/${verb}`, 'POST')?.operationId).toBe(
          offered.has(`${entity}.${verb}`) ? `${entity}.${verb}` : undefined,
        );
    }
    const generic = '/v1/commands/{entity}/{verb}';
    const commandPaths = Object.keys(doc.paths).filter((p) => p.startsWith('/v1/commands/') && p !== generic);
    expect(commandPaths.sort()).toEqual([...offered].map((c) => `/v1/commands/${c.replace('.', '/')}`).sort());
    // The rest reach the generic route, which only refuses (a credential first).
    expect(Object.keys(operationOf(doc, generic, 'POST')!.responses).sort()).toEqual([
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '500',
    ]);
    expect(doc.paths).toHaveProperty(['/v1/commands/session/ensure']);
    expect(doc.paths).not.toHaveProperty(['/v1/commands/session/create']);
    const create = doc.components.schemas.LeaseCreateCommand as {
      properties: { data: { properties: Record<string, unknown>; required?: string[] } };
    };
    expect(Object.keys(create.properties.data.properties)).toEqual(['holder', 'ttlMs']);
    expect(create.properties.data.required).toEqual(['holder']);
    expect(Object.keys(operationOf(doc, '/v1/commands/lease/create', 'POST')!.responses)).toContain('201');
    expect(Object.keys(operationOf(doc, '/v1/commands/lease/renew', 'POST')!.responses)).not.toContain('201');
  });

  it('documents GET /v1/stream as server-sent events with the data of each event', () => {
    const ok = operationOf(openApiDocument(), '/v1/stream', 'GET')!.responses['200'];
    expect(ok?.content['text/event-stream']?.['x-events']?.actor).toEqual({ $ref: '#/components/schemas/StreamActor' });
  });

  it('every $ref points at a component', () => {
    const doc = openApiDocument();
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    expect(
      refs.filter((r) => !(r.split('/').pop()! in doc.components.schemas) || !r.startsWith('#/components/')),
    ).toEqual([]);
  });

  it("gives each route's path parameters exactly the {params} of its path", () => {
    const wrong = table.filter(([, r]) => {
      const inPath = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      return JSON.stringify(inPath) !== JSON.stringify(Object.keys(r.params?.shape ?? {}).sort());
    });
    expect(wrong.map(([id]) => id)).toEqual([]);
  });

  it('types a handler by operation id', () => {
    const params: RouteParams<'participants.kick'> = { share: 's1', participant: 'p1' };
    const body: RouteBody<'shares.extend'> = { ttl_ms: 60_000 };
    const reply: RouteReply<'healthz'> = { ok: true, store: 'embedded' };
    expect(routes['participants.kick'].params.parse(params)).toEqual(params);
    expect(routes['shares.extend'].body.schema.parse(body)).toEqual(body);
    expect(routes.healthz.reply.parse(reply)).toEqual(reply);
  });

  it('turns an OpenAPI path into the router form', () => {
    expect(routerPath(routes['participants.kick'].path)).toBe('/v1/shares/:share/participants/:participant/kick');
  });
});
