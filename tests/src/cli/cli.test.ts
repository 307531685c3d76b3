import { mkdtempSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { connect } from '@nats-io/transport-node';
import { ACTORS_BUCKET } from '@tether/contracts';
import { JetStreamEventStore } from '@tether/runtime';
import { readModelContents } from '@tether/projector';
import { bearer, TETHER_BIN, TetherProcess, eventually, uid, useNats, type Tether } from '../harness/index.ts';
import { postCommand } from '../reliability/helpers.ts';

const ctx = useNats();
const procs: TetherProcess[] = [];
const childNatsPids: number[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  for (const pid of childNatsPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
});

const tether = (args: string[], env: Record<string, string>) =>
  execa(process.execPath, [TETHER_BIN, ...args], {
    env: { ...process.env, TETHER_LOG_LEVEL: 'warn', ...env },
    reject: false,
    timeout: 60_000,
  });

async function someHistory(url: Tether) {
  const id = uid('cli');
  expect(
    await postCommand(url, 'lease', 'create', { entityId: id, data: { holder: 'ann', ttlMs: 600_000 } }),
  ).toMatchObject({ ok: true });
  expect(await postCommand(url, 'lease', 'renew', { entityId: id, data: { ttlMs: 120_000 } })).toMatchObject({
    ok: true,
  });
  expect(await postCommand(url, 'lease', 'release', { entityId: id, data: { reason: 'done' } })).toMatchObject({
    ok: true,
  });
  return id;
}

describe('tether CLI against NATS', () => {
  let up: TetherProcess;
  beforeAll(async () => {
    up = await TetherProcess.start({ NATS_URL: ctx.nats.url });
    procs.push(up);
  });

  it('replay prints every event with the state after it, up to --to-seq', async () => {
    const id = await someHistory(up);
    const nats = { NATS_URL: ctx.nats.url };
    const [r, partial, human, missing, bad] = await Promise.all([
      tether(['replay', 'lease', id, '--json'], nats),
      tether(['replay', 'lease', id, '--to-seq', '2', '--json'], nats),
      tether(['replay', 'lease', id], nats),
      tether(['replay', 'lease', uid('none'), '--json'], nats),
      tether(['replay', 'lease', id, '--to-seq', 'zero'], nats),
    ]);
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.steps.map((s: { type: string; state: string }) => [s.type, s.state])).toEqual([
      ['lease.create', 'held'],
      ['lease.renew', 'held'],
      ['lease.release', 'released'],
    ]);
    expect(out.steps[1].context).toMatchObject({ renewals: 1, ttlMs: 600_000 });
    expect(JSON.parse(partial.stdout).steps.length).toBe(2);
    expect(human.stdout).toMatch(/v3 #\d+ .* lease.release by human:\S+\n {4}data {4}{"reason":"done"}/);
    expect(missing.exitCode).toBe(1);
    expect(JSON.parse(missing.stderr).error.code).toBe('NOT_FOUND');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_COMMAND: --to-seq/);
  });

  it('events tail prints history and follows new events, filtered by entity', async () => {
    const before = await ctx.store.lastStreamSeq();
    const id = await someHistory(up);
    const once = await tether(
      ['events', 'tail', '--entity', 'lease', '--from-seq', String(before + 1), '--no-follow', '--json'],
      { NATS_URL: ctx.nats.url },
    );
    expect(once.exitCode).toBe(0);
    const lines = once.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.entityId === id).map((l) => l.type)).toEqual([
      'lease.create',
      'lease.renew',
      'lease.release',
    ]);

    const follower = execa(process.execPath, [TETHER_BIN, 'events', 'tail', '--json'], {
      env: { ...process.env, NATS_URL: ctx.nats.url },
      reject: false,
    });
    let seen = '';
    follower.stdout!.on('data', (d) => (seen += d));
    // It prints the newest events first (this test's own among them): then it follows.
    await eventually(
      () => seen,
      (s) => s.includes(`"entityId":"${id}"`),
    );
    const later = await someHistory(up);
    await eventually(
      () => seen,
      (s) => s.includes(`"entityId":"${later}"`) && s.includes('lease.release'),
    );
    follower.kill('SIGINT');
    expect((await follower).exitCode).toBe(0);
  });

  it('projections rebuild gives an identical read model while tether runs', async () => {
    await someHistory(up);
    // Caught up: polled through the API (a CLI call per poll is a process start each), then shown once by the CLI.
    await eventually(
      async () =>
        (await (await fetch(`${up.url}/v1/projections`, { headers: bearer(up) })).json()) as {
          items: { lag: number }[];
        },
      (s) => s.items.every((p) => p.lag === 0),
    );
    const status = await tether(['projections', 'status', '--json'], { NATS_URL: ctx.nats.url });
    expect(JSON.parse(status.stdout).items.map((p: { name: string; lag: number }) => [p.name, p.lag])).toContainEqual([
      'actors',
      0,
    ]);
    const before = await readModelContents(ctx.store, ACTORS_BUCKET);
    const r = await tether(['projections', 'rebuild', 'actors', '--json'], { NATS_URL: ctx.nats.url });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, name: 'actors', documents: Object.keys(before).length });
    const fresh = await JetStreamEventStore.open(ctx.nats.url);
    expect(await readModelContents(fresh, ACTORS_BUCKET)).toEqual(before);
    // The running tether keeps projecting after the rebuild.
    const id = await someHistory(up);
    await eventually(
      async () => (await readModelContents(fresh, ACTORS_BUCKET))[`lease.${id}`],
      (d) => (d as { value?: { version: number } })?.value?.version === 3,
    );
    await fresh.close();
    const unknown = await tether(['projections', 'rebuild', 'nope'], { NATS_URL: ctx.nats.url });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/unknown projection "nope"; known: actors/);
  });

  it('rejects unknown commands and flags with usage', async () => {
    const r = await tether(['frobnicate', '--json'], {});
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('INVALID_COMMAND');
    expect((await tether(['up', '--bogus'], {})).stderr).toMatch(/Unknown option '--bogus'/);
  });
});

describe('tether up without NATS_URL', () => {
  it('uses the embedded store when no nats-server is installed, and says so', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tether-emb-'));
    const env = { TETHER_HOME: home, TETHER_NO_CHILD_NATS: '1', NATS_URL: '' };
    const up = await TetherProcess.start(env);
    procs.push(up);
    expect(await (await fetch(`${up.url}/healthz`)).json()).toEqual({ ok: true, store: 'embedded' });
    expect(up.logs).toMatch(/store: embedded/);
    const id = await someHistory(up);
    // Readers open the embedded files read-only while tether up owns them; a writer needs the lock.
    const [r, tail, rebuild] = await Promise.all([
      tether(['replay', 'lease', id, '--json'], env),
      tether(['events', 'tail', '--entity', 'lease', '--no-follow', '--json'], env),
      tether(['projections', 'rebuild', 'actors'], env),
    ]);
    expect(JSON.parse(r.stdout).steps.length).toBe(3);
    expect(
      tail.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(['lease.create', 'lease.renew', 'lease.release']);
    // A clear error, not a corrupted file.
    expect(rebuild.exitCode).toBe(1);
    expect(rebuild.stderr).toMatch(/UNAVAILABLE: another tether process \(pid \d+\) owns the embedded event store/);
    // Expiry works on the embedded store too (timers, projections, host in one process).
    const lease = await postCommand(up, 'lease', 'create', { data: { holder: 'ann', ttlMs: 1_000 } });
    expect(lease.ok).toBe(true);
    if (lease.ok)
      await eventually(
        async () =>
          (
            (await (await fetch(`${up.url}/v1/entities/lease/${lease.entityId}`, { headers: bearer(up) })).json()) as {
              value: string;
            }
          ).value,
        (v) => v === 'expired',
      );
  });

  it('starts a local nats-server under the data folder, which CLI commands find and a restarted tether reuses', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tether-child-'));
    const env = { TETHER_HOME: home, NATS_URL: '' };
    const up = await TetherProcess.start(env);
    procs.push(up);
    const urlFile = join(home, 'nats', 'url');
    expect(existsSync(urlFile)).toBe(true);
    const [natsUrl, pid] = readFileSync(urlFile, 'utf8').trim().split(' ');
    childNatsPids.push(Number(pid));
    expect(await (await fetch(`${up.url}/healthz`)).json()).toEqual({ ok: true, store: 'jetstream' });
    expect(up.logs).toMatch(/started a local nats-server under the data folder/);
    const id = await someHistory(up);
    expect(JSON.parse((await tether(['replay', 'lease', id, '--json'], env)).stdout).steps.length).toBe(3);
    // Its one user's password is in the data folder (0600): nobody else on the machine gets in, or types
    // into a terminal over tether.term.<id>.in.
    expect(statSync(join(home, 'nats', 'auth.conf')).mode & 0o777).toBe(0o600);
    await expect(connect({ servers: natsUrl!, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    // tether crashes; the nats-server (and the data) stay; the next tether up reuses it.
    await up.kill('SIGKILL');
    const again = await TetherProcess.start(env);
    procs.push(again);
    expect(again.logs).toMatch(/no NATS_URL: reusing the local nats-server an earlier tether up started/);
    expect(again.logs).toContain(`"natsUrl":"${natsUrl}"`);
    expect(
      (
        (await (await fetch(`${again.url}/v1/entities/lease/${id}`, { headers: bearer(again) })).json()) as {
          value: string;
        }
      ).value,
    ).toBe('released');
  });
});

describe('tether up: configuration', () => {
  it('a bad setting stops the start with INVALID_CONFIG, naming each bad variable, and opens nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tether-badconfig-'));
    const env = { TETHER_HOME: home, TETHER_SHARE_READY_MS: 'abc', TETHER_PORT: '70000', NATS_URL: ctx.nats.url };
    const r = await tether(['up', '--json'], env);
    expect(r.exitCode).not.toBe(0);
    const error = JSON.parse(r.stdout || r.stderr).error;
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('TETHER_SHARE_READY_MS="abc"');
    expect(error.message).toContain('TETHER_PORT="70000"');
    expect(existsSync(join(home, 'terminals'))).toBe(false);
  });
});
