import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { LaneView, SessionView, TerminalView, HarnessStatusView } from '@tether/contracts';
import { TETHER_BIN, TetherProcess, eventually, gitRepo, useNats } from '../harness/index.ts';

const ctx = useNats();
let up: TetherProcess;
let env: Record<string, string>;
const outer = join(mkdtempSync(join(tmpdir(), 'tether-outer-')), 'outer.sock');
beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'tether-clihome-'));
  env = { NATS_URL: ctx.nats.url, TETHER_HOME: home, TETHER_WORKSPACES: `ws1=${await gitRepo()}` };
  up = await TetherProcess.start(env);
  env.TETHER_URL = up.url;
  env.TETHER_WORKSPACE = 'ws1';
});
afterAll(async () => {
  await execa('tmux', ['-S', outer, 'kill-server'], { reject: false });
  await execa('tmux', ['-S', join(env.TETHER_HOME!, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
  await up?.kill();
});

const tether = async (...args: string[]) => {
  const r = await execa(process.execPath, [TETHER_BIN, ...args], { env: { ...process.env, ...env }, reject: false });
  return { ...r, json: () => JSON.parse(r.stdout) };
};

describe('tether lane / session / terminal / harness', () => {
  it('drives a lane from creation to cleanup, human-readable and --json', async () => {
    const created = await tether('lane', 'create', '--name', 'Refactor auth', '--project', 'proj-7', '--json');
    expect(created.exitCode).toBe(0);
    const lane = LaneView.parse(created.json());
    expect(lane).toMatchObject({ status: 'ready', display_name: 'Refactor auth', workspace_id: 'ws1' });
    expect((await tether('lane', 'list')).stdout).toMatch(new RegExp(`${lane.lane_id}\\s+ready\\s+Refactor auth`));
    expect((await tether('lane', 'attach', lane.lane_id)).stdout).toContain(`cd ${lane.worktree_path}`);

    const s = SessionView.parse((await tether('session', 'ensure', '--lane', lane.lane_id, '--json')).json());
    expect(s.status).toBe('attached');
    expect((await tether('session', 'list', '--lane', lane.lane_id)).stdout).toContain(s.session_id);
    const t = TerminalView.parse(
      (
        await tether(
          'terminal',
          'spawn',
          '--lane',
          lane.lane_id,
          '--session',
          s.session_id,
          '--title',
          'build',
          '--json',
        )
      ).json(),
    );
    expect(t.state).toBe('active');
    expect((await tether('terminal', 'list', '--lane', lane.lane_id)).stdout).toMatch(
      new RegExp(`${t.terminal_id}\\s+active\\s+build`),
    );
    expect(HarnessStatusView.parse((await tether('harness', 'status', '--json')).json())).toMatchObject({
      status: 'unavailable',
      fallback_transport: 'native_openai',
    });

    // attach opens the tmux session interactively: run it in a real terminal (an outer tmux) and type into it.
    await execa('tmux', [
      '-S',
      outer,
      'new-session',
      '-d',
      '-x',
      '120',
      '-y',
      '30',
      '-e',
      `TETHER_HOME=${env.TETHER_HOME}`,
      `${process.execPath} ${TETHER_BIN} terminal attach ${t.terminal_id}`,
    ]);
    await new Promise((r) => setTimeout(r, 1_000));
    await execa('tmux', ['-S', outer, 'send-keys', 'echo attached-$((6*7))', 'Enter']);
    await eventually(
      async () => (await execa('tmux', ['-S', outer, 'capture-pane', '-p'], { reject: false })).stdout,
      (screen) => screen.includes('attached-42'),
    );

    const cleaned = await tether('lane', 'cleanup', lane.lane_id, '--reason', 'merged');
    expect(cleaned.stdout).toMatch(new RegExp(`${lane.lane_id}\\s+closed`));
  });

  it('send: any command through the gateway, with its typed answer', async () => {
    const create = [
      'send',
      'lease',
      'create',
      '--entity-id',
      'cli-send-1',
      '--id',
      'cli-send-cmd-1',
      '--data',
      '{"holder":"me","ttlMs":60000}',
    ];
    const created = await tether(...create, '--json');
    expect(created.json()).toMatchObject({
      ok: true,
      entity: 'lease',
      entityId: 'cli-send-1',
      seq: 1,
      state: 'held',
      duplicate: false,
    });
    expect((await tether(...create)).stdout).toBe('lease cli-send-1 v1 -> "held" (already applied)');
    const bad = await tether('send', 'lease', 'renew', '--entity-id', 'cli-send-1', '--data', '{"ttlMs":5}');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_COMMAND: invalid data for lease.renew: ttlMs: ttlMs is at least 1000/);
    expect((await tether('send', 'lease', 'renew', '--data', '{oops')).stderr).toMatch(
      /INVALID_COMMAND: --data is not JSON/,
    );
  });

  it('answers mistakes with a code, what was wrong and what to do', async () => {
    const noName = await tether('lane', 'create');
    expect(noName.exitCode).toBe(2);
    expect(noName.stderr).toMatch(/INVALID_COMMAND: --name is required; usage: tether lane create --name NAME/);
    const missing = await tether('lane', 'show', 'ghost', '--json');
    expect(JSON.parse(missing.stderr).error.code).toBe('NOT_FOUND');
    const down = await execa(process.execPath, [TETHER_BIN, 'lane', 'list'], {
      env: { ...process.env, TETHER_URL: 'http://127.0.0.1:9' },
      reject: false,
    });
    expect(down.stderr).toMatch(
      /UNAVAILABLE: cannot reach tether at http:\/\/127\.0\.0\.1:9.*run `tether up` or set TETHER_URL/,
    );
  });
});
