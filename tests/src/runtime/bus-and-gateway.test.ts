import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandReply, CREDENTIAL_HEADER } from '@tether/contracts';
import { headers } from '@nats-io/nats-core';
import { openApiDocument } from '@tether/contracts/openapi';
import { sendCommand, silentLogger } from '@tether/runtime';
import { startServer } from '@tether/cli';
import { bearer, eventually, uid, useNats } from '../harness/index.ts';

const ctx = useNats();
let server: Awaited<ReturnType<typeof startServer>>;
let token = '';
beforeAll(async () => {
  server = await startServer({
    store: ctx.store,
    logger: silentLogger,
    port: 0,
    home: mkdtempSync(join(tmpdir(), 'tether-gw-')),
  });
  token = server.token;
});
afterAll(async () => server?.stop());

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: CommandReply.parse(await res.json()) };
}

describe('NATS command bus', () => {
  it('accepts, rejects with typed errors, and answers resends', async () => {
    const nc = ctx.store.nc;
    const id = uid('b');
    const created = await sendCommand(
      nc,
      'lease',
      'create',
      { entityId: id, data: { holder: 'svc' }, id: `c-${id}` },
      { credential: token },
    );
    expect(created).toMatchObject({ ok: true, entityId: id, seq: 1, state: 'held', correlationId: `c-${id}` });
    expect(
      await sendCommand(
        nc,
        'lease',
        'create',
        { entityId: id, data: { holder: 'svc' }, id: `c-${id}` },
        { credential: token },
      ),
    ).toMatchObject({ ok: true, duplicate: true, seq: 1 });
    expect(
      await sendCommand(
        nc,
        'lease',
        'renew',
        { entityId: id, data: { ttlMs: 'soon' as never } },
        { credential: token },
      ),
    ).toMatchObject({
      ok: false,
      error: { code: 'INVALID_COMMAND' },
    });
    expect(await sendCommand(nc, 'lease', 'fly', { entityId: id }, { credential: token })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_COMMAND' },
    });
    expect(await sendCommand(nc, 'lease', 'renew', { entityId: uid('none') }, { credential: token })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    const withCredential = headers();
    withCredential.set(CREDENTIAL_HEADER, token);
    const raw = CommandReply.parse(
      (await nc.request('tether.cmd.lease.create', '{"data": {', { timeout: 5_000, headers: withCredential })).json(),
    );
    expect(raw).toMatchObject({ ok: false, error: { code: 'INVALID_COMMAND' } });
    // Without a credential nothing is even parsed.
    const anonymous = CommandReply.parse(
      (await nc.request('tether.cmd.lease.create', '{"data": {', { timeout: 5_000 })).json(),
    );
    expect(anonymous).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED', reason: 'NO_CREDENTIAL' } });
    const fromCorr = await sendCommand(
      nc,
      'lease',
      'renew',
      { entityId: id, correlationId: 'flow-1' },
      { credential: token },
    );
    expect(fromCorr).toMatchObject({ ok: true, correlationId: 'flow-1' });
    const [, ev] = await ctx.store.readEntity('lease', id);
    expect(ev!.event.correlationId).toBe('flow-1');
  });
});

describe('HTTP gateway', () => {
  it('maps outcomes to status codes with the contract body', async () => {
    const id = uid('h');
    const created = await post('/v1/commands/lease/create', { entityId: id, data: { holder: 'ann' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ok: true, seq: 1 });
    const again = await post('/v1/commands/lease/renew', { entityId: id }, { 'idempotency-key': `k-${id}` });
    expect(again.status).toBe(200);
    expect(
      (await post('/v1/commands/lease/renew', { entityId: id }, { 'idempotency-key': `k-${id}` })).body,
    ).toMatchObject({ duplicate: true, seq: 2 });

    const cases: [string, unknown, number, string][] = [
      ['/v1/commands/lease/create', '{"data":', 400, 'INVALID_COMMAND'],
      ['/v1/commands/lease/create', [1, 2], 400, 'INVALID_COMMAND'],
      ['/v1/commands/lease/create', { data: { holder: 7 } }, 400, 'INVALID_COMMAND'],
      ['/v1/commands/lease/create', { entityId: 'bad id!', data: { holder: 'a' } }, 400, 'INVALID_COMMAND'],
      ['/v1/commands/lease/teleport', { entityId: id }, 404, 'UNKNOWN_COMMAND'],
      ['/v1/commands/Nope/x', {}, 404, 'UNKNOWN_COMMAND'],
      ['/v1/commands/lease/renew', { entityId: uid('ghost') }, 404, 'NOT_FOUND'],
      ['/v1/commands/lease/expire', { entityId: id }, 409, 'NOT_ALLOWED'],
      ['/v1/commands/lease/create', { entityId: id, data: { holder: 'b' } }, 409, 'ALREADY_EXISTS'],
    ];
    const head = await ctx.store.lastStreamSeq();
    for (const [path, body, status, code] of cases) {
      const r = await post(path, body);
      expect([path, r.status, r.body.ok ? 'ok' : r.body.error.code]).toEqual([path, status, code]);
    }
    expect(await ctx.store.lastStreamSeq()).toBe(head);
  });

  it('serves entity state, history, listings, metrics and the OpenAPI document', async () => {
    const id = uid('h');
    await post('/v1/commands/lease/create', { entityId: id, data: { holder: 'ann' } });
    await post('/v1/commands/lease/release', { entityId: id, data: { reason: 'bye' } });
    const state = (await (
      await fetch(`${server.url}/v1/entities/lease/${id}`, { headers: bearer(server) })
    ).json()) as object;
    expect(state).toMatchObject({ entity: 'lease', entityId: id, version: 2, value: 'released' });
    const events = (await (
      await fetch(`${server.url}/v1/entities/lease/${id}/events`, { headers: bearer(server) })
    ).json()) as { type: string }[];
    expect(events.map((e: { type: string }) => e.type)).toEqual(['lease.create', 'lease.release']);
    expect((await fetch(`${server.url}/v1/entities/lease/${uid('no')}`, { headers: bearer(server) })).status).toBe(404);
    const list = await eventually(
      async () =>
        (await (await fetch(`${server.url}/v1/entities/lease`, { headers: bearer(server) })).json()) as {
          items: { entityId: string; version: number }[];
        },
      (l) => l.items.some((i) => i.entityId === id && i.version === 2),
    );
    expect(list.items.length).toBeGreaterThan(0);
    const metrics = await eventually(
      async () => (await fetch(`${server.url}/metrics`, { headers: bearer(server) })).text(),
      (t) => /tether_projection_lag\{projection="actors"\} 0/.test(t),
    );
    expect(metrics).toMatch(/tether_stream_last_seq \d+/);
    expect(metrics).toMatch(/tether_timers_armed \d+/);
    expect(await (await fetch(`${server.url}/openapi.json`)).json()).toEqual(
      JSON.parse(JSON.stringify(openApiDocument())),
    );
    expect((await fetch(`${server.url}/v1/nowhere`, { headers: bearer(server) })).status).toBe(404);
  });
});
