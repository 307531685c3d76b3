import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, TetherProcess, uid, useNats, type Tether } from '../harness/index.ts';

/**
 * A command id's result is kept for TETHER_COMMAND_RETENTION_MS (shortened here), across a kill -9,
 * on both stores; past it a resend is refused with COMMAND_EXPIRED and nothing is applied again,
 * also once the ledger has dropped the id (the entity's history still knows it).
 */
const RETENTION_MS = 2_000;

async function post(base: Tether, path: string, key: string, body: unknown) {
  const res = await fetch(`${base.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key, ...bearer(base) },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { entityId?: string; streamSeq?: number; error?: { message: string } };
  return { status: res.status, body: answer };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retentionSpec(env: () => Record<string, string>) {
  const procs: TetherProcess[] = [];
  afterAll(async () => Promise.all(procs.map((p) => p.kill())));
  const starter = (extra: Record<string, string> = {}) => {
    const home = mkdtempSync(join(tmpdir(), 'tether-retention-'));
    return async () => {
      const p = await TetherProcess.start({ ...env(), TETHER_HOME: home, ...extra });
      procs.push(p);
      return p;
    };
  };
  const createLease = async (base: Tether, id: string) =>
    post(base, '/v1/commands/lease/create', id, { data: { holder: 'ann' } });

  it('answers resends with the original result across a kill -9', async () => {
    const start = starter();
    let tether = await start();
    const [create, renew] = [uid('create'), uid('renew')];
    const made = await createLease(tether, create);
    expect(made).toMatchObject({ status: 201, body: { ok: true, duplicate: false } });
    const lease = made.body.entityId!;
    const renewed = await post(tether, '/v1/commands/lease/renew', renew, { entityId: lease });
    expect(renewed.body).toMatchObject({ ok: true, seq: 2, duplicate: false });

    await tether.kill('SIGKILL');
    tether = await start();
    expect((await createLease(tether, create)).body).toMatchObject({
      ok: true,
      entityId: lease,
      seq: 1,
      duplicate: true,
    });
    expect((await post(tether, '/v1/commands/lease/renew', renew, { entityId: lease })).body).toMatchObject({
      ok: true,
      entityId: lease,
      seq: 2,
      streamSeq: renewed.body.streamSeq,
      duplicate: true,
    });
  });

  it('refuses resends past the retention and applies nothing, also once the ledger has dropped the id', async () => {
    const start = starter({ TETHER_COMMAND_RETENTION_MS: `${RETENTION_MS}` });
    let tether = await start();
    const [create, renew] = [uid('create'), uid('renew')];
    const lease = (await createLease(tether, create)).body.entityId!;
    expect((await post(tether, '/v1/commands/lease/renew', renew, { entityId: lease })).body).toMatchObject({
      ok: true,
      seq: 2,
    });
    const expired = { ok: false, error: { code: 'CONFLICT', reason: 'COMMAND_EXPIRED' } };
    await sleep(RETENTION_MS + 200);
    expect((await createLease(tether, create)).body).toMatchObject(expired);
    expect((await post(tether, '/v1/commands/lease/renew', renew, { entityId: lease })).body).toMatchObject(expired);
    // The ledger keeps values twice the retention; past that, a new process has only the lease's history.
    await sleep(RETENTION_MS + 500);
    await tether.kill('SIGKILL');
    tether = await start();
    const late = await post(tether, '/v1/commands/lease/renew', renew, { entityId: lease });
    expect(late).toMatchObject({ status: 409, body: expired });
    expect(late.body.error?.message).toContain('TETHER_COMMAND_RETENTION_MS');
    expect((await createLease(tether, create)).body).toMatchObject(expired);
    const events = (await (
      await fetch(`${tether.url}/v1/entities/lease/${lease}/events`, { headers: bearer(tether) })
    ).json()) as unknown[];
    expect(events).toHaveLength(2); // nothing applied twice
    // A fresh id is a new command, as always.
    expect((await post(tether, '/v1/commands/lease/renew', uid('r2'), { entityId: lease })).body).toMatchObject({
      ok: true,
      seq: 3,
    });
  });
}

describe('command retention on the embedded store', () => {
  retentionSpec(() => ({ NATS_URL: '', TETHER_NO_CHILD_NATS: '1' }));
});

describe('command retention on JetStream', () => {
  const ctx = useNats();
  retentionSpec(() => ({ NATS_URL: ctx.nats.url, TETHER_DUPLICATE_WINDOW_MS: '1000' }));
});
