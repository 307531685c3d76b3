import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditList, AuditVerdict, ErrorBody } from '@tether/contracts';
import { registry } from '@tether/machines';
import { ActorHost, Authenticator, Dispatcher, EmbeddedEventStore, mintToken, silentLogger } from '@tether/runtime';
import { AuditProjector, auditLogFor, auditRoutes, type AuditLog } from '@tether/projector';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from './server.ts';

let dir: string;
let store: EmbeddedEventStore;
let log: AuditLog;
let app: FastifyInstance;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-audit-routes-'));
  store = await EmbeddedEventStore.open(dir);
  log = await auditLogFor(store, { key: Buffer.alloc(32, 1) });
  const host = new ActorHost({ store, registry });
  const minted = mintToken('00000000-0000-4000-8000-000000000001');
  token = minted.token;
  await host.execute({
    ...{ id: 'c-cred', correlationId: 'c-cred', causationId: 'c-cred' },
    entity: 'credential',
    verb: 'issue',
    entityId: '00000000-0000-4000-8000-000000000001',
    actor: { kind: 'system', id: 'test' },
    data: { actor: { kind: 'human', id: 'ann' }, role: 'viewer', purpose: 'token', hash: minted.hash },
  });
  app = buildGateway({
    authenticator: new Authenticator(host),
    host,
    dispatcher: new Dispatcher(host),
    store,
    logger: silentLogger,
    openapi: {},
    routes: auditRoutes(log, store),
  });
  const actor = { kind: 'human' as const, id: 'ann' };
  for (const [verb, id, data] of [
    ['create', 'l1', { holder: 'ann' }],
    ['create', 'l2', { holder: 'bo' }],
    ['release', 'l1', { reason: 'done' }],
  ] as const) {
    const cmdId = `c-${verb}-${id}`;
    await host.execute({
      id: cmdId,
      entity: 'lease',
      verb,
      entityId: id,
      data,
      actor,
      correlationId: cmdId,
      causationId: cmdId,
    });
  }
  const projector = new AuditProjector(store, log, { entities: ['lease'] });
  await projector.start();
  await projector.waitCaughtUp();
  await projector.stop();
});

afterAll(async () => {
  await app?.close();
  await log?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(url: string) {
  const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: res.json() as unknown };
}

describe('GET /v1/audit', () => {
  it('returns the newest records, a page after a seq, and filters by entity and id', async () => {
    const seqs = async (url: string) => AuditList.parse((await get(url)).body).items.map((r) => r.seq);
    expect(await seqs('/v1/audit')).toEqual([1, 2, 3]);
    expect(await seqs('/v1/audit?limit=1')).toEqual([3]);
    expect(await seqs('/v1/audit?after=1&limit=1')).toEqual([2]);
    expect(await seqs('/v1/audit?after=')).toEqual([1, 2, 3]);
    expect(await seqs('/v1/audit?entity=lease&entity_id=l1')).toEqual([1, 3]);
    expect(await seqs('/v1/audit?entity=share')).toEqual([]);
    const [released] = AuditList.parse((await get('/v1/audit?limit=1')).body).items;
    expect(released).toMatchObject({
      action: 'lease.release',
      actor: { kind: 'human', id: 'ann' },
      reason: 'done',
      correlationId: 'c-release-l1',
    });
  });

  it('answers bad queries with 400 and the gateway error body', async () => {
    for (const bad of [
      'limit=0',
      'limit=5000',
      'after=-1',
      'after=x',
      'after=1.5',
      'entity=Bad.Entity',
      'entity_id=no%20spaces',
      'unknown=1',
      'entity=a&entity=b',
      'lane_id=no%20spaces',
      'lane_id=a&lane_id=b',
    ]) {
      const r = await get(`/v1/audit?${bad}`);
      expect(r.status, bad).toBe(400);
      const body = r.body as { ok: boolean; error: unknown };
      expect(body.ok).toBe(false);
      expect(ErrorBody.parse(body.error)).toMatchObject({
        code: 'INVALID_COMMAND',
        message: expect.stringMatching(/^invalid audit query: /),
      });
    }
  });
});

describe('GET /v1/audit?lane_id=', () => {
  it('answers a lane the read model does not know with 404, saying which', async () => {
    const r = await get('/v1/audit?lane_id=nope');
    expect(r.status).toBe(404);
    expect(ErrorBody.parse((r.body as { error: unknown }).error)).toMatchObject({
      code: 'NOT_FOUND',
      message: 'lane nope does not exist',
    });
  });
});

describe('GET /v1/audit/verify', () => {
  it('says whether the chain holds', async () => {
    expect(AuditVerdict.parse((await get('/v1/audit/verify')).body)).toEqual({ ok: true, records: 3 });
  });
});
