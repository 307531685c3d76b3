import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { LaneView, SessionView, TerminalView } from '@tether/contracts';
import { termSubjects } from '@tether/workers';
import { TetherProcess, api, eventually, gitRepo, useNats } from '../harness/index.ts';

const ctx = useNats();
const home = mkdtempSync(join(tmpdir(), 'tether-crash-'));
const socket = join(home, 'terminals', 'tmux.sock');
const procs: TetherProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await execa('tmux', ['-S', socket, 'kill-server'], { reject: false });
});

describe('a terminal outlives a crash of tether', () => {
  it('kill -9 of tether leaves the shell running in tmux; the next tether relays it again', async () => {
    const env = { NATS_URL: ctx.nats.url, TETHER_HOME: home, TETHER_WORKSPACES: `ws1=${await gitRepo()}` };
    const first = await TetherProcess.start(env);
    procs.push(first);
    const lane = LaneView.parse(
      (await api(first, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'crash' })).body,
    );
    const session = SessionView.parse(
      (await api(first, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`, { provider: 'codex' })).body,
    );
    const term = TerminalView.parse(
      (
        await api(first, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
          session_id: session.session_id,
        })
      ).body,
    );
    const pid = Number(
      (await execa('tmux', ['-S', socket, 'display-message', '-p', '-t', `=${term.terminal_id}:`, '#{pane_pid}']))
        .stdout,
    );

    await first.kill('SIGKILL');
    expect(() => process.kill(pid, 0)).not.toThrow(); // the shell lives on
    expect(
      (await execa('tmux', ['-S', socket, 'has-session', '-t', `=${term.terminal_id}`], { reject: false })).exitCode,
    ).toBe(0);

    const second = await TetherProcess.start(env);
    procs.push(second);
    let out = '';
    const sub = ctx.store.nc.subscribe(termSubjects.out(term.terminal_id), {
      callback: (_e, m) => {
        out += new TextDecoder().decode(m.data);
      },
    });
    await new Promise((r) => setTimeout(r, 500));
    ctx.store.nc.publish(
      termSubjects.in(term.terminal_id),
      JSON.stringify({ data: 'echo "still-here-$TETHER_TERMINAL_ID"\r', from: session.session_id }),
    );
    await eventually(
      () => out,
      (t) => t.includes(`still-here-${term.terminal_id}`),
    );
    sub.unsubscribe();
    expect((await second.proc.pid) !== first.proc.pid).toBe(true);
  });
});
