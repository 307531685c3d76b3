import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { LaneView, SessionView, TerminalView, HarnessStatusView } from '@tether/contracts';
import { TETHER_BIN, TetherProcess, api, eventually, gitRepo, useNats } from '../harness/index.ts';
import { runningTerminal } from '../sharing/helpers.ts';

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

/** A lane made through the API (a git worktree), for the tests that are not about creating one. */
const apiLane = async () =>
  LaneView.parse(
    (await api(up, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'cli' })).body,
  );

describe('tether lane / session / terminal / harness', () => {
  it('lane create, list, attach and cleanup, human-readable and --json', async () => {
    const created = await tether('lane', 'create', '--name', 'Refactor auth', '--project', 'proj-7', '--json');
    expect(created.exitCode).toBe(0);
    const lane = LaneView.parse(created.json());
    expect(lane).toMatchObject({ status: 'ready', display_name: 'Refactor auth', workspace_id: 'ws1' });
    expect((await tether('lane', 'list')).stdout).toMatch(
      new RegExp(`^${lane.lane_id.slice(0, 8)}\\s+ready\\s+Refactor auth`, 'm'),
    );
    const attach = await tether('lane', 'attach', lane.lane_id); // after the list: it moves the lane to running
    expect(attach.stdout).toContain(`cd ${lane.worktree_path}`);
    expect(attach.stdout).toMatch(new RegExp(`^${lane.lane_id.slice(0, 8)}\\s+running`));
    const cleaned = await tether('lane', 'cleanup', lane.lane_id, '--reason', 'merged');
    expect(cleaned.stdout).toMatch(new RegExp(`^${lane.lane_id.slice(0, 8)}\\s+closed`));
  });

  it('session ensure and list, terminal spawn and list', async () => {
    const lane = await apiLane();
    const s = SessionView.parse((await tether('session', 'ensure', '--lane', lane.lane_id, '--json')).json());
    expect(s.status).toBe('attached');
    const [sessions, spawned] = await Promise.all([
      tether('session', 'list', '--lane', lane.lane_id),
      tether('terminal', 'spawn', '--lane', lane.lane_id, '--session', s.session_id, '--title', 'build', '--json'),
    ]);
    expect(sessions.stdout).toContain(`${s.session_id.slice(0, 8)}  `); // ids short, like git
    const t = TerminalView.parse(spawned.json());
    expect(t.state).toBe('active');
    expect((await tether('terminal', 'list', '--lane', lane.lane_id)).stdout).toMatch(
      new RegExp(`^${t.terminal_id.slice(0, 8)}\\s+active\\s+build`, 'm'),
    );
  });

  it('terminal attach opens the shell in tmux, in a real terminal (an outer tmux) that types into it', async () => {
    const { term } = await runningTerminal(up);
    const inner = join(env.TETHER_HOME!, 'terminals', 'tmux.sock');
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
      `${process.execPath} ${TETHER_BIN} terminal attach ${term.terminal_id.slice(0, 8)}`, // a prefix, as printed
    ]);
    // Attached once tether's tmux has a client on the terminal's session.
    await eventually(
      async () =>
        (await execa('tmux', ['-S', inner, 'list-clients', '-F', '#{session_name}'], { reject: false })).stdout,
      (clients) => clients.includes(term.terminal_id),
    );
    await execa('tmux', ['-S', outer, 'send-keys', 'echo attached-$((6*7))', 'Enter']);
    await eventually(
      async () => (await execa('tmux', ['-S', outer, 'capture-pane', '-p'], { reject: false })).stdout,
      (screen) => screen.includes('attached-42'),
    );
  });

  it('harness status', async () => {
    expect(HarnessStatusView.parse((await tether('harness', 'status', '--json')).json())).toMatchObject({
      status: 'unavailable',
      fallback_transport: 'native_openai',
    });
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
    const [again, bad, notJson] = await Promise.all([
      tether(...create),
      tether('send', 'lease', 'renew', '--entity-id', 'cli-send-1', '--data', '{"ttlMs":5}'),
      tether('send', 'lease', 'renew', '--data', '{oops'),
    ]);
    expect(again.stdout).toBe('lease cli-send-1 v1 -> "held" (already applied)');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_COMMAND: invalid data for lease.renew: ttlMs: ttlMs is at least 1000/);
    expect(notJson.stderr).toMatch(/INVALID_COMMAND: --data is not JSON/);
  });

  it('answers mistakes with a code, what was wrong and what to do', async () => {
    const [noName, missing, down] = await Promise.all([
      tether('lane', 'create'),
      tether('lane', 'show', 'ghost', '--json'),
      execa(process.execPath, [TETHER_BIN, 'lane', 'list'], {
        env: { ...process.env, TETHER_URL: 'http://127.0.0.1:9', TETHER_TOKEN: 'tth_any' }, // a token, so the call is tried
        reject: false,
      }),
    ]);
    expect(noName.exitCode).toBe(2);
    expect(noName.stderr).toMatch(/INVALID_COMMAND: --name is required; usage: tether lane create --name NAME/);
    expect(JSON.parse(missing.stderr).error.code).toBe('NOT_FOUND');
    expect(down.stderr).toMatch(
      /UNAVAILABLE: cannot reach tether at http:\/\/127\.0\.0\.1:9.*run `tether up` or set TETHER_URL/,
    );
  });
});
