import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TetherProcess, uid, useNats } from '../harness/index.ts';

/**
 * A command id's result is kept for TETHER_COMMAND_RETENTION_MS (shortened here), across a kill -9,
 * on both stores; past it a resend is refused with COMMAND_EXPIRED and nothing is applied again,
 * also once the ledger has dropped the id (the entity's history still knows it).
 */
const RETENTION_MS = 2_500;

async function post(base: string, path: string, key: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { entityId?: string; streamSeq?: number; error?: { message: string } };
  return { status: res.status, body: answer };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retentionSpec(env: () => Record<string, string>) {
  const procs: TetherProcess[] = [];
  afterAll(async () => Promise.all(procs.map((p) => p.kill())));

  it('answers resends with the original result across a kill -9, then refuses them past the retention', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tether-retention-'));
    const start = async () => {
      const p = await TetherProcess.start({
        ...env(),
        TETHER_HOME: home,
        TETHER_COMMAND_RETENTION_MS: `${RETENTION_MS}`,
      });
      procs.push(p);
      return p;
    };
    let tether = await start();
    const [create, renew] = [uid('create'), uid('renew')];
    const made = await post(tether.url, '/v1/commands/lease/create', create, { data: { holder: 'ann' } });
    expect(made).toMatchObject({ status: 201, body: { ok: true, duplicate: false } });
    const lease = made.body.entityId!;
    const renewed = await post(tether.url, '/v1/commands/lease/renew', renew, { entityId: lease });
    expect(renewed.body).toMatchObject({ ok: true, seq: 2, duplicate: false });

    await tether.kill('SIGKILL');
    tether = await start();
    const again = await post(tether.url, '/v1/commands/lease/create', create, { data: { holder: 'ann' } });
    expect(again.body).toMatchObject({ ok: true, entityId: lease, seq: 1, duplicate: true });
    expect((await post(tether.url, '/v1/commands/lease/renew', renew, { entityId: lease })).body).toMatchObject({
      ok: true,
      entityId: lease,
      seq: 2,
      streamSeq: renewed.body.streamSeq,
      duplicate: true,
    });

    const expired = { ok: false, error: { code: 'CONFLICT', reason: 'COMMAND_EXPIRED' } };
    const events = async () =>
      (await (await fetch(`${tether.url}/v1/entities/lease/${lease}/events`)).json()) as unknown[];
    // Past the retention, while the ledger still holds the id (it keeps values twice as long) ...
    await sleep(RETENTION_MS + 200);
    expect(
      (await post(tether.url, '/v1/commands/lease/create', create, { data: { holder: 'ann' } })).body,
    ).toMatchObject(expired);
    expect((await post(tether.url, '/v1/commands/lease/renew', renew, { entityId: lease })).body).toMatchObject(
      expired,
    );
    // ... and once the ledger has dropped it: the lease's own history knows the id, even in a new process.
    await sleep(RETENTION_MS + 500);
    await tether.kill('SIGKILL');
    tether = await start();
    const late = await post(tether.url, '/v1/commands/lease/renew', renew, { entityId: lease });
    expect(late).toMatchObject({ status: 409, body: expired });
    expect(late.body.error?.message).toContain('TETHER_COMMAND_RETENTION_MS');
    expect(
      (await post(tether.url, '/v1/commands/lease/create', create, { data: { holder: 'ann' } })).body,
    ).toMatchObject(expired);
    expect(await events()).toHaveLength(2); // nothing applied twice
    // A fresh id is a new command, as always.
    expect((await post(tether.url, '/v1/commands/lease/renew', uid('r2'), { entityId: lease })).body).toMatchObject({
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
