import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendCommand } from '@tether/runtime';
import { api, eventually, isAlive, runCli, useNats, type Tether } from '../harness/index.ts';
import {
  type TetherProcess,
  allRelaying,
  checkpointed,
  checkpoints,
  finishedRun,
  homeOnNats,
  installationOf,
  killTmux,
  markedProcesses,
  recoveryEnv,
  recoveryHome,
  recoveryStatus,
  terminals,
  type,
  typeUntilCheckpointed,
  useTethers,
} from './helpers.ts';

// Chaos, each scenario repeated 5 times: real SIGKILLs of tether (and of its tmux server), mid-write
// kills of checkpoints, a crash loop under the supervisor, and a /proc scan for orphans afterwards.

const ctx = useNats();
const tether = useTethers();
// (what a test leaves marked with its installation, the orphans it made included, ends with its data folder)
const start = (env: Record<string, string>, supervise = false) => tether(env, { supervise });

const setup = (extra: Record<string, string> = {}) => homeOnNats(ctx.nats.url, extra, 'tether-chaos-');

const ROUNDS = 5;

describe('chaos', () => {
  it(`kill -9 of tether while its terminals print, ${ROUNDS} times: every terminal reattached and relaying`, async () => {
    const { env } = await setup();
    let t = await start(env);
    const { session, ids } = await terminals(t, 3);
    await typeUntilCheckpointed(
      t,
      ctx.store.nc,
      ids,
      session.session_id,
      () => 'while :; do echo tick-$RANDOM; sleep 0.05; done',
      (c) => (c.scrollback_bytes ?? 0) > 2_000, // the ticks are flowing
    );
    for (let round = 0; round < ROUNDS; round++) {
      await new Promise((r) => setTimeout(r, 300 + round * 70)); // somewhere in a checkpoint interval
      await t.kill('SIGKILL');
      t = await start(env);
      const run = await finishedRun(t);
      expect([round, run.status, run.result.restored, run.result.failed]).toEqual([round, 'live', 3, []]);
      const ticks = await eventually(
        () => checkpoints(t),
        (all) =>
          ids.every((id) =>
            all.some((c) => c.terminal_id === id && Date.parse(c.taken_at ?? '') > Date.parse(run.live_at!)),
          ),
        30_000,
      );
      expect(ticks.length).toBeGreaterThanOrEqual(3); // checkpoints go on after the crash: output flows again
    }
  }, 240_000);

  it(`kill -9 in the middle of a checkpoint write, ${ROUNDS} times: the previous checkpoint restores, no temp file is left`, async () => {
    // The embedded store writes checkpoints to files: big ones (a terminal printing a lot), so a kill lands mid-write.
    const { home, socket } = recoveryHome('tether-chaos-write-');
    const env = await recoveryEnv(home, {
      TETHER_NO_CHILD_NATS: '1',
      TETHER_CHECKPOINT_SCROLLBACK_BYTES: String(8 * 1024 * 1024),
    });
    let t = await start(env);
    const { ids } = await terminals(t, 1);
    const id = ids[0]!;
    const dir = join(home, 'checkpoints', id);
    let midWrite = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await checkpointed(t, [id]);
      // Fill the scrollback with 8 MiB so each checkpoint takes a while to write, then kill on a temp file.
      await execIn(socket, id, 'head -c 9000000 /dev/urandom | base64 -w 200');
      const killed = t.server()?.pid ?? t.proc.pid!;
      const sawTemp = await killOnTempFile(t, dir, 10_000);
      if (sawTemp) midWrite++;
      await killTmux(socket);
      t = await start(env);
      const run = await finishedRun(t);
      expect([round, run.status, run.result.respawned, run.result.failed]).toEqual([round, 'live', 1, []]);
      // The killed writer's temp file is gone (the new tether's own writes may be under way meanwhile).
      const left = existsSync(dir)
        ? readdirSync(dir).filter((f) => f.endsWith(`.${killed}`) || f.includes(`.${killed}.`))
        : [];
      expect(left).toEqual([]);
      if (sawTemp) expect(run.orphans!.safe_to_terminate.some((o) => o.kind === 'tempFile')).toBe(true);
    }
    expect(midWrite).toBeGreaterThanOrEqual(1); // at least one kill did land in the middle of a write
  }, 240_000);

  it(`a crash loop puts tether into safe mode, ${ROUNDS} times; leaving it (audited) starts everything again`, async () => {
    const { env } = await setup({ TETHER_SUPERVISOR_TIMEOUT_MS: '15000' });
    const sup = await start(env, true);
    const current = (): Tether => ({ url: sup.server()?.url ?? sup.url, token: sup.token });
    const { lane, session, ids } = await terminals(current(), 1);
    const terminalId = ids[0]!;
    for (let round = 0; round < ROUNDS; round++) {
      for (let crash = 0; crash < 3; crash++) {
        const pid = await eventually(
          () => sup.server(),
          (s) => s?.url !== undefined && isAlive(s.pid),
          30_000,
        );
        await eventually(
          () =>
            fetch(`${pid!.url}/healthz`)
              .then((r) => r.status)
              .catch(() => 0),
          (s) => s === 200,
          30_000,
        );
        process.kill(pid!.pid, 'SIGKILL');
        await eventually(
          () => sup.server(),
          (s) => s !== undefined && s.pid !== pid!.pid && s.url !== undefined,
          30_000,
        );
      }
      const status = await eventually(
        () => recoveryStatus(current()).catch(() => undefined),
        (s) => s?.safe_mode?.active === true,
        30_000,
      );
      expect(status!.safe_mode!.crashes).toBeGreaterThanOrEqual(3);
      // The supervisor's record of each crash reached the run: how the server ended.
      expect(status!.latest!.crashes.some((c) => c.exit?.signal === 'SIGKILL' && c.exit.reason === 'exited')).toBe(
        true,
      );
      let share: string | undefined;
      if (round === 0) {
        // Share workers are held back: a new share waits for its worker until safe mode is left.
        const created = await api<{ share: { share_id: string; status: string } }>(current(), 'POST', '/v1/shares', {
          terminal_id: terminalId,
        });
        share = created.body.share.share_id;
        expect(created.body.share.status).not.toBe('active');
      }
      const refused = await api(current(), 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
        session_id: session.session_id,
      });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({
        error: { reason: 'SAFE_MODE', message: expect.stringMatching(/leave-safe-mode/) },
      });
      if (round % 2 === 0) {
        const left = await runCli(current(), ['recovery', 'leave-safe-mode', '--reason', `round ${round}: fixed`]);
        expect(left.exitCode, left.stderr).toBe(0);
      } else {
        // The same command over NATS, as a service would send it.
        const reply = await sendCommand(
          ctx.store.nc,
          'recovery',
          'leaveSafeMode',
          { entityId: status!.safe_mode!.recovery_id, data: { reason: `round ${round}: fixed` } },
          { credential: sup.token },
        );
        expect(reply.ok, JSON.stringify(reply)).toBe(true);
      }
      if (share)
        await eventually(
          () => api<{ status: string }>(current(), 'GET', `/v1/shares/${share}`).then((r) => r.body.status),
          (s) => s === 'active',
          30_000,
        );
      const spawned = await api(current(), 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
        session_id: session.session_id,
      });
      expect(spawned.status, JSON.stringify(spawned.body)).toBe(201);
    }
    // Each leave is in the audit trail (projected from the stream: it may trail the last one by a moment).
    await eventually(
      () =>
        api<{ items: { action: string }[] }>(current(), 'GET', '/v1/audit?entity=recovery&limit=1000').then(
          (r) => r.body.items.filter((i) => i.action === 'recovery.leaveSafeMode').length,
        ),
      (n) => n === ROUNDS,
      30_000,
    );
  }, 240_000);

  it(`no orphan is left 30 s after recovery, ${ROUNDS} times (a /proc scan of the installation marker)`, async () => {
    const { home, socket, env } = await setup();
    let t = await start(env);
    const { ids } = await terminals(t, 2);
    await checkpointed(t, ids);
    const installation = installationOf(home);
    for (let round = 0; round < ROUNDS; round++) {
      // Orphans a crash leaves: a marked process that belongs to no live entity (a share worker of a share gone).
      const orphan = spawn('sleep', ['600'], {
        env: { ...process.env, TETHER_OWNER: installation, TETHER_SHARE_ID: `gone-${round}` },
        detached: true,
        stdio: 'ignore',
      });
      await t.kill('SIGKILL');
      if (round % 2 === 1) await killTmux(socket);
      t = await start(env);
      const run = await finishedRun(t);
      expect([round, run.status]).toEqual([round, 'live']);
      const left = await eventually(
        () => markedProcesses(installation).filter((p) => !p.terminal || !ids.includes(p.terminal)),
        (l) => l.length === 0,
        30_000,
      );
      expect(left).toEqual([]);
      expect(run.orphans!.cleanup.terminated).toBeGreaterThanOrEqual(1);
      expect(
        run.orphans!.safe_to_terminate.some((o) => o.ref === String(orphan.pid) || o.shareId === `gone-${round}`),
      ).toBe(true);
    }
  }, 240_000);

  it(`tether and its tmux server killed together, ${ROUNDS} times: every terminal respawned and relaying`, async () => {
    const { socket, env } = await setup();
    let t = await start(env);
    const { session, ids } = await terminals(t, 3);
    for (let round = 0; round < ROUNDS; round++) {
      for (const id of ids) type(ctx.store.nc, id, session.session_id, `echo round-${round}-$((1+1))`);
      await checkpointed(t, ids, (c) => Date.parse(c.taken_at ?? '') > Date.now() - 2_000);
      await new Promise((r) => setTimeout(r, 400));
      await t.kill('SIGKILL');
      await killTmux(socket);
      t = await start(env);
      const run = await finishedRun(t);
      expect([round, run.status, run.result.respawned, run.result.failed]).toEqual([round, 'live', 3, []]);
      await allRelaying(ctx.store.nc, ids, session.session_id, `r${round}`);
    }
  }, 240_000);
});

/** Types into a terminal straight through tmux (the embedded store has no NATS to type over). */
async function execIn(socket: string, id: string, line: string) {
  await execa('tmux', ['-S', socket, 'send-keys', '-t', `=${id}:`, line, 'Enter']);
}

/** Kills tether (SIGKILL) as soon as a checkpoint temp file exists; true if one did before `ms`. */
async function killOnTempFile(t: TetherProcess, dir: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const temp = existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.tmp') && statSync(join(dir, f)).size > 0);
    if (temp) {
      t.proc.kill('SIGKILL');
      await t.kill('SIGKILL');
      return true;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await t.kill('SIGKILL');
  return false;
}
