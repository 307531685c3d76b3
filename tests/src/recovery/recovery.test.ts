import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  Items,
  RECOVERY_STAGES,
  RecoveryStatusView,
  ShareView,
  TerminalView,
  recoverySubjects,
  type ShareCreated,
} from '@tether/contracts';
import { TETHER_BIN, api, eventually, openViewer, runCli, useNats } from '../harness/index.ts';
import { as, policyFile, runningTerminal } from '../sharing/helpers.ts';
import {
  type TetherProcess,
  allRelaying,
  checkpointed,
  finishedRun,
  homeOnNats,
  killTmux,
  paneOf,
  recoveryEnv,
  recoveryHome,
  recoveryStatus,
  terminals,
  type,
  typeUntilCheckpointed,
  useTethers,
  watchOutput,
} from './helpers.ts';

// Crash recovery end to end: real `tether up` processes killed with SIGKILL, real tmux servers killed
// with them, a real nats-server (and the embedded store where the checkpoint files are the point).

const ctx = useNats();
const start = useTethers();

const setup = (extra: Record<string, string> = {}) => homeOnNats(ctx.nats.url, extra);

const eventTypes = async (entity: string, id: string) =>
  (await ctx.store.readEntity(entity, id)).map((e) => e.event.type.slice(entity.length + 1));

const tmuxOut = async (socket: string, id: string, format: string) =>
  (await execa('tmux', ['-S', socket, 'display-message', '-p', '-t', `=${id}:`, format], { reject: false })).stdout;

const screen = async (socket: string, id: string) =>
  (await execa('tmux', ['-S', socket, 'capture-pane', '-p', '-S', '-200', '-t', `=${id}:`], { reject: false })).stdout;

describe('crash recovery', () => {
  it('5 terminals, tether and its tmux server killed: all respawned in their cwd with their scrollback, every stage in order', async () => {
    const { socket, env } = await setup();
    const first = await start(env);
    const { session, ids } = await terminals(first, 5);
    const dirs = ids.map((id) => mkdtempSync(join(tmpdir(), `cwd-${id.slice(0, 8)}-`)));
    await typeUntilCheckpointed(
      first,
      ctx.store.nc,
      ids,
      session.session_id,
      (i) => `cd ${dirs[i]} && echo marker-${i}-$((6*7))`,
      (c, i) => c.cwd === dirs[i],
    );
    await new Promise((r) => setTimeout(r, 600)); // one more checkpoint interval: the echo's output is in it

    await first.kill('SIGKILL');
    await killTmux(socket);
    const seen: string[] = [];
    const progress = ctx.store.nc.subscribe(recoverySubjects.all, {
      callback: (_e, m) => {
        const latest = RecoveryStatusView.parse(m.json()).latest;
        if (latest && seen.at(-1) !== latest.status) seen.push(latest.status);
      },
    });
    const second = await start(env);
    const run = await finishedRun(second);
    await eventually(
      () => seen,
      (s) => s.at(-1) === 'live',
    );
    progress.unsubscribe();
    // Ops watching NATS saw the stages in order (a quick stage may pass between two looks).
    expect(seen.filter((x, i) => seen.indexOf(x) !== i)).toEqual([]);
    expect(seen.map((x) => RECOVERY_STAGES.indexOf(x as never))).toEqual(
      [...seen.map((x) => RECOVERY_STAGES.indexOf(x as never))].sort((a, b) => a - b),
    );

    expect(run.status).toBe('live');
    expect(run.result).toMatchObject({ restored: 0, respawned: 5, failed: [] });
    expect(run.terminals.map((t) => t.outcome)).toEqual(Array(5).fill('respawned'));
    expect(run.crashes).toHaveLength(1);
    expect(run.crashes[0]!.exit).toBeNull(); // not supervised: no exit record, the crash is still found
    const types = await eventTypes('recovery', run.recovery_id);
    const at = (t: string) => types.indexOf(t);
    expect(at('start')).toBe(0);
    expect([at('detected'), at('inventoried'), at('lanesChecked'), at('restored'), at('reconciled')]).toEqual(
      [...[at('detected'), at('inventoried'), at('lanesChecked'), at('restored'), at('reconciled')]].sort(
        (a, b) => a - b,
      ),
    );
    expect(at('detected')).toBeGreaterThan(0);
    const restoredAt = types.flatMap((t, i) => (t === 'terminalRestored' ? [i] : []));
    expect(restoredAt).toHaveLength(5);
    expect(Math.min(...restoredAt)).toBeGreaterThan(at('lanesChecked'));
    expect(Math.max(...restoredAt)).toBeLessThan(at('restored'));

    for (const [i, id] of ids.entries()) {
      expect(await tmuxOut(socket, id, '#{pane_current_path}')).toBe(dirs[i]);
      const shown = await screen(socket, id);
      expect(shown).toContain(`marker-${i}-42`);
      expect(shown).toMatch(/restored from \d{4}-/);
      expect(await eventTypes('terminal', id)).toContain('respawned');
    }
    await allRelaying(ctx.store.nc, ids, session.session_id, 'after');
  }, 120_000);

  it('reattaches the terminals whose tmux session survived and respawns the one whose session is gone', async () => {
    const { socket, env } = await setup();
    const first = await start(env);
    const { session, ids } = await terminals(first, 3);
    await checkpointed(first, ids);
    const pids = await Promise.all(ids.map((id) => paneOf(socket, id)));

    await first.kill('SIGKILL');
    await execa('tmux', ['-S', socket, 'kill-session', '-t', `=${ids[2]}`]);
    const second = await start(env);
    const run = await finishedRun(second);

    expect(run.status).toBe('live');
    expect(Object.fromEntries(run.terminals.map((t) => [t.terminal_id, [t.plan, t.outcome]]))).toEqual({
      [ids[0]!]: ['reattach', 'reattached'],
      [ids[1]!]: ['reattach', 'reattached'],
      [ids[2]!]: ['respawn', 'respawned'],
    });
    expect(await paneOf(socket, ids[0]!)).toBe(pids[0]); // the very same shells
    expect(await paneOf(socket, ids[1]!)).toBe(pids[1]);
    expect(await paneOf(socket, ids[2]!)).not.toBe(pids[2]);
    await allRelaying(ctx.store.nc, ids, session.session_id, 'mixed');
  }, 120_000);

  it('a terminal whose cwd is gone fails with that reason; the others come back', async () => {
    const { socket, env } = await setup();
    const first = await start(env);
    const { session, ids } = await terminals(first, 2);
    const gone = mkdtempSync(join(tmpdir(), 'cwd-gone-'));
    await typeUntilCheckpointed(
      first,
      ctx.store.nc,
      ids.slice(0, 1),
      session.session_id,
      () => `cd ${gone}`,
      (c) => c.cwd === gone,
    );
    await checkpointed(first, ids.slice(1));

    await first.kill('SIGKILL');
    await killTmux(socket);
    rmSync(gone, { recursive: true, force: true });
    const second = await start(env);
    const run = await finishedRun(second);

    expect(run.status).toBe('liveWithIssues');
    expect(run.result.respawned).toBe(1);
    expect(run.result.failed).toEqual([
      { terminal: ids[0], reason: expect.stringMatching(/^cwd_missing: .*does not exist/) },
    ]);
    expect(run.terminals.find((t) => t.terminal_id === ids[0])!.what_to_do).toMatch(/working directory is gone/);
    const listed = Items(TerminalView).parse(
      (await api(second, 'GET', `/v1/workspaces/ws1/lanes/${run.terminals[0]!.lane_id}/terminals`)).body,
    );
    const lost = listed.items.find((t) => t.terminal_id === ids[0])!;
    expect([lost.state, lost.close_reason]).toEqual(['closed', expect.stringMatching(/^lost: cwd_missing/)]);
    expect(await eventTypes('terminal', ids[0]!)).toContain('lost');
  }, 120_000);

  it('2 corrupt checkpoints and 3 good ones (embedded store, checkpoint files): 3 restored, 2 failed with reasons', async () => {
    const { home, socket } = recoveryHome();
    const env = await recoveryEnv(home, { TETHER_NO_CHILD_NATS: '1' });
    const first = await start(env);
    const { ids } = await terminals(first, 5);
    await checkpointed(first, ids);
    await first.kill('SIGKILL');
    await killTmux(socket);
    for (const id of ids.slice(0, 2)) {
      const dir = join(home, 'checkpoints', id);
      for (const f of readdirSync(dir)) writeFileSync(join(dir, f), 'garbage, as a torn write would leave it');
    }
    const second = await start(env);
    const run = await finishedRun(second);

    expect(run.status).toBe('liveWithIssues');
    expect(run.result.respawned).toBe(3);
    expect(run.result.failed.map((f) => f.terminal).sort()).toEqual(ids.slice(0, 2).sort());
    for (const f of run.result.failed) expect(f.reason).toMatch(/checkpoint|CHECKPOINT/);
    for (const t of run.terminals.filter((x) => x.outcome === 'failed')) expect(t.what_to_do).toMatch(/checkpoint/);
  }, 120_000);

  it('a crash during RESTORING resumes there, and does not touch the terminals already restored', async () => {
    const { socket, env } = await setup({ TETHER_RECOVERY_CONCURRENCY: '1' });
    const first = await start(env);
    const { ids } = await terminals(first, 10);
    await checkpointed(first, ids);
    await first.kill('SIGKILL');
    await killTmux(socket);

    // The second tether is killed as soon as its run has recorded three terminals.
    let restored = 0;
    const held: { second?: TetherProcess } = {};
    const killed = new Promise<void>((resolve) => {
      ctx.store.nc.subscribe('tether.evt.recovery.>', {
        callback: (_e, m) => {
          if ((m.json() as { type: string }).type !== 'recovery.terminalRestored' || ++restored !== 3) return;
          held.second?.proc.kill('SIGKILL');
          resolve();
        },
        max: 1_000,
      });
    });
    const second = await start(env);
    held.second = second;
    await killed;
    await second.kill('SIGKILL'); // waits for its exit
    const third = await start({ ...env, TETHER_RECOVERY_CONCURRENCY: '8' });
    const run = await finishedRun(third);

    expect(run.status).toBe('live');
    expect(run.resumes).toBe(1);
    expect(run.result.respawned).toBe(10);
    const types = await eventTypes('recovery', run.recovery_id);
    expect(types.filter((t) => t === 'detected')).toHaveLength(1);
    expect(types.filter((t) => t === 'inventoried')).toHaveLength(1);
    expect(types.filter((t) => t === 'terminalRestored')).toHaveLength(10);
    // The terminals restored before the crash were respawned once: their terminal streams say so.
    const before = types.indexOf('resumed');
    expect(types.slice(0, before).filter((t) => t === 'terminalRestored').length).toBeGreaterThanOrEqual(3);
    for (const id of ids) expect((await eventTypes('terminal', id)).filter((t) => t === 'respawned')).toHaveLength(1);
  }, 120_000);

  it('an orphan worktree with uncommitted work is listed for review, never removed, until an operator cleans it (audited)', async () => {
    const { home, env } = await setup();
    const first = await start(env);
    const repo = env.TETHER_WORKSPACES!.split('=')[1]!;
    // A worktree under tether's folder that no lane owns (its lane's events were lost), with work in it.
    const orphan = join(home, 'worktrees', 'ws1', 'no-such-lane');
    await execa('git', ['-C', repo, 'worktree', 'add', '-b', 'orphan-work', orphan]);
    writeFileSync(join(orphan, 'unsaved.txt'), 'work in progress\n');
    await first.kill('SIGKILL');
    const second = await start(env);
    const run = await finishedRun(second);

    expect(run.status).toBe('liveWithIssues');
    const item = run.orphans!.needs_review.find((o) => o.kind === 'worktree' && o.ref === orphan)!;
    expect(item.reason).toMatch(/uncommitted changes/);
    expect(existsSync(join(orphan, 'unsaved.txt'))).toBe(true);
    const listed = await runCli(second, ['recovery', 'review']);
    expect(listed.stdout).toContain(orphan);

    const refused = await runCli(second, ['recovery', 'clean', '--all']);
    expect(refused.exitCode).toBe(2); // no reason: nothing happens
    expect(existsSync(orphan)).toBe(true);
    const cleaned = await runCli(second, ['recovery', 'clean', item.id, '--reason', 'work copied elsewhere']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    await eventually(
      () => recoveryStatus(second),
      (s) => s.latest?.orphans?.needs_review.every((o) => o.id !== item.id) === true,
    );
    expect(existsSync(orphan)).toBe(false);
    type Audited = { action: string; actor: { kind: string }; data: { reason?: string } };
    // The audit trail is projected from the stream: it may trail the cleanup by a moment.
    const audit = await eventually(
      () => api<{ items: Audited[] }>(second, 'GET', `/v1/audit?entity=recovery&entity_id=${run.recovery_id}`),
      (r) => r.body.items.some((i) => i.action === 'recovery.reviewCleaned'),
    );
    const asked = audit.body.items.find((r) => r.action === 'recovery.cleanReview')!;
    expect([asked.actor.kind, asked.data.reason]).toEqual(['human', 'work copied elsewhere']); // who, and why
  }, 120_000);

  it("a terminal's environment is sealed in its checkpoint: restored on respawn, never in the stream, the audit trail or a log", async () => {
    const secret = `sekret-${Date.now().toString(36)}`;
    const { socket, env } = await setup();
    const first = await start({ ...env, TETHER_LOG_LEVEL: 'debug', DEPLOY_TOKEN: secret });
    const { session, ids } = await terminals(first, 1);
    await checkpointed(first, ids);
    await first.kill('SIGKILL');
    await killTmux(socket);
    const second = await start({ ...env, TETHER_LOG_LEVEL: 'debug' }); // this tether's own env lacks it
    expect((await finishedRun(second)).result.respawned).toBe(1);
    const w = watchOutput(ctx.store.nc, ids);
    await eventually(
      () => {
        type(ctx.store.nc, ids[0]!, session.session_id, 'echo "token=$DEPLOY_TOKEN."');
        return w.text(ids[0]!);
      },
      (t) => t.includes(`token=${secret}.`),
    );
    w.stop();
    const everything: string[] = [];
    for await (const e of ctx.store.readAll()) everything.push(JSON.stringify(e.event));
    expect(everything.join('\n')).not.toContain(secret);
    const audit = await api(second, 'GET', '/v1/audit?limit=1000');
    expect(JSON.stringify(audit.body)).not.toContain(secret);
    expect(first.logs + second.logs).not.toContain(secret);
  }, 120_000);

  it("a respawned terminal's native share goes on for the same link; tether up prints each stage", async () => {
    const { socket, env } = await setup({ TETHER_SHARE_POLICY: policyFile() });
    const first = await start(env);
    const { term, session } = await runningTerminal(first);
    await checkpointed(first, [term.terminal_id]);
    const share = (
      await as<ShareCreated>(first, 'human:alice', 'POST', '/v1/shares', { terminal_id: term.terminal_id })
    ).body;
    await first.kill('SIGKILL');
    await killTmux(socket);

    // A person's `tether up` (no --json): a line per stage, then the summary.
    const up = execa(process.execPath, [TETHER_BIN, 'up', '--no-supervise', '--port', '0'], {
      env: { ...process.env, ...env, TETHER_LOG_LEVEL: 'warn' },
      reject: false,
    });
    let out = '';
    up.stdout!.on('data', (d) => (out += d));
    try {
      await eventually(
        () => out,
        (o) => /recovery +Recovery complete/.test(o),
        60_000,
      );
      expect(out).toMatch(/recovery +Detecting crash\.\.\. checking processes\./);
      const url = /api +(http:\/\/\S+)/.exec(out)![1]!;
      const second = { url, token: first.token };
      const link = share.link!.url.replace(new URL(first.url).host, new URL(url).host);
      const viewer = await openViewer(link);
      await eventually(
        () => {
          type(ctx.store.nc, term.terminal_id, session.session_id, 'echo shared-after-respawn-$((2*21))');
          return viewer.output();
        },
        (o) => o.includes('shared-after-respawn-42'),
      );
      const view = ShareView.parse((await as(second, 'human:alice', 'GET', `/v1/shares/${share.share.share_id}`)).body);
      expect(view.status).toBe('active');
      viewer.close();
    } finally {
      up.kill('SIGTERM');
      await up;
    }
  }, 120_000);

  it('commands that create terminals wait while the run restores, and run once it is live', async () => {
    const { socket, env } = await setup({ TETHER_RECOVERY_CONCURRENCY: '1' });
    const first = await start(env);
    const { lane, session, ids } = await terminals(first, 12);
    await checkpointed(first, ids);
    await first.kill('SIGKILL');
    await killTmux(socket);

    const second = await start(env);
    const during = await recoveryStatus(second);
    const spawn = await api(second, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
      session_id: session.session_id,
    });
    expect(during.recovering).toBe(true); // asked while the run was still going
    expect(spawn.status, JSON.stringify(spawn.body)).toBe(201);
    const run = await finishedRun(second);
    const spawned = TerminalView.parse(spawn.body).terminal_id;
    const [spawnEvent] = await ctx.store.readEntity('terminal', spawned);
    const reconciled = (await ctx.store.readEntity('recovery', run.recovery_id)).find(
      (e) => e.event.type === 'recovery.reconciled',
    )!;
    expect(spawnEvent!.streamSeq).toBeGreaterThan(reconciled.streamSeq); // applied after the run was live
    await allRelaying(ctx.store.nc, [spawned], session.session_id, 'held');

    // Held longer than TETHER_RECOVERY_HOLD_MS: refused with RECOVERING and nothing written.
    await second.kill('SIGKILL');
    await killTmux(socket);
    const third = await start({ ...env, TETHER_RECOVERY_HOLD_MS: '1' });
    const refused = await api(third, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
      session_id: session.session_id,
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'RECOVERING', message: expect.stringMatching(/retry/) } });
    expect((await finishedRun(third)).status).toBe('live');
  }, 120_000);
});
