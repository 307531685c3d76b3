import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandRejected, Items, LaneView, SessionView, TerminalView } from '@tether/contracts';
import { sendCommand } from '@tether/runtime';
import { termSubjects } from '@tether/workers';
import { api, eventually, isAlive, useControlPlane } from '../harness/index.ts';

// A usual loose umask while tmux starts (the first terminal below): terminal files are private anyway.
process.umask(0o022);
const cp = useControlPlane();

async function terminal(title = 'shell') {
  const lane = LaneView.parse(
    (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'term' })).body,
  );
  const session = SessionView.parse(
    (await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`, { provider: 'codex' })).body,
  );
  const r = await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
    session_id: session.session_id,
    title,
  });
  expect(r.status).toBe(201);
  return { lane, session, term: TerminalView.parse(r.body) };
}

/** Collects what the terminal prints on tether.term.<id>.out. */
function watch(id: string) {
  let text = '';
  const sub = cp.ctx.store.nc.subscribe(termSubjects.out(id), {
    callback: (_e, m) => {
      text += new TextDecoder().decode(m.data);
    },
  });
  return { text: () => text, stop: () => sub.unsubscribe() };
}
const type = (id: string, data: string, from: string) =>
  cp.ctx.store.nc.publish(termSubjects.in(id), JSON.stringify({ data, from }));

describe('terminals', () => {
  it("spawns a shell in tmux inside the lane worktree, marked as tether's, streaming output and taking the writer's input", async () => {
    const { lane, session, term } = await terminal();
    expect(term).toMatchObject({
      lane_id: lane.lane_id,
      session_id: session.session_id,
      state: 'active',
      tmux_session: term.terminal_id,
    });
    const out = watch(term.terminal_id);
    // The shell is TETHER_SHELL's command line, arguments included (the harness's bash without rc files).
    type(
      term.terminal_id,
      `echo "cwd=$(pwd) owner=$TETHER_OWNER shell=$(tr '\\0' ' ' </proc/$$/cmdline)"\r`,
      session.session_id,
    );
    await eventually(
      () => out.text(),
      (t) => t.includes(`cwd=${lane.worktree_path} owner=test-${process.pid} shell=bash --noprofile --norc `),
    );
    // Input from anyone but the writer is dropped.
    type(term.terminal_id, 'echo intruder-was-here\r', 'someone-else');
    type(term.terminal_id, 'echo writer-ok\r', session.session_id);
    await eventually(
      () => out.text(),
      (t) => t.includes('writer-ok'),
    );
    expect(out.text()).not.toContain('intruder-was-here');
    out.stop();
    const list = Items(TerminalView).parse(
      (await api(cp, 'GET', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`)).body,
    );
    expect(list.items.map((t) => t.terminal_id)).toContain(term.terminal_id);
  });

  it('closing kills the whole process group and the tmux session', async () => {
    const { session, term } = await terminal();
    const out = watch(term.terminal_id);
    // A background child in the same process group as the shell.
    type(term.terminal_id, 'sleep 300 & echo "child=$!"\r', session.session_id);
    const text = await eventually(
      () => out.text(),
      (t) => /child=\d+/.test(t),
    );
    const child = Number(/child=(\d+)/.exec(text)![1]);
    expect(readFileSync(`/proc/${child}/environ`, 'utf8')).toContain(`TETHER_OWNER=test-${process.pid}`);
    expect(
      await sendCommand(
        cp.ctx.store.nc,
        'terminal',
        'close',
        { entityId: term.terminal_id, data: { reason: 'done' } },
        { credential: cp.token },
      ),
    ).toMatchObject({ ok: true, state: 'closed' });
    await eventually(
      () => isAlive(child),
      (a) => !a,
      10_000,
    );
    await eventually(
      () => cp.server && import('@tether/workers').then(() => hasTmux(term.terminal_id)),
      (h) => !h,
      10_000,
    );
    out.stop();
  });

  it('a shell that exits by itself closes the terminal with its exit code', async () => {
    const { session, term } = await terminal();
    type(term.terminal_id, 'exit 3\r', session.session_id);
    const done = await eventually(
      async () => (await cp.server.host.state('terminal', term.terminal_id))!,
      (t) => t.value === 'closed',
      10_000,
    );
    expect(done.context).toMatchObject({ closeReason: 'exited', exit: { code: 3, signal: null } });
  });

  it("keeps what a terminal printed for tether's user only: its output log and exit status 0600, in 0700 folders", async () => {
    const { session, term } = await terminal();
    const out = watch(term.terminal_id);
    type(term.terminal_id, 'echo private-$((20+1)); exit 4\r', session.session_id);
    await eventually(
      async () => (await cp.server.host.state('terminal', term.terminal_id))!,
      (t) => t.value === 'closed',
      10_000,
    );
    out.stop();
    const dir = join(cp.home, 'terminals');
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    const log = join(dir, 'logs', `${term.terminal_id}.log`);
    const status = join(dir, 'logs', `${term.terminal_id}.exit`);
    expect(readFileSync(log, 'utf8')).toContain('private-21'); // the real pane output went there
    expect(readFileSync(status, 'utf8')).toBe('4');
    expect({ log: mode(log), status: mode(status), logs: mode(join(dir, 'logs')), terminals: mode(dir) }).toEqual({
      log: '600',
      status: '600',
      logs: '700',
      terminals: '700',
    });
  });

  it("refuses to spawn on a closed lane or with another lane's session", async () => {
    const a = await terminal();
    const other = LaneView.parse(
      (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'other' })).body,
    );
    const wrong = await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${other.lane_id}/terminals`, {
      session_id: a.session.session_id,
    });
    expect(CommandRejected.parse(wrong.body).error).toMatchObject({
      code: 'NOT_ALLOWED',
      reason: 'SESSION_OF_OTHER_LANE',
    });
    await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${a.lane.lane_id}/cleanup`, {});
    const closed = await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${a.lane.lane_id}/terminals`, {
      session_id: a.session.session_id,
    });
    expect(closed.status).toBe(409);
    expect(CommandRejected.parse(closed.body).error.reason).toBe('LANE_NOT_READY');
    // The lane's cleanup closed its terminal too.
    expect((await cp.server.host.state('terminal', a.term.terminal_id))?.value).toBe('closed');
  });
});

async function hasTmux(name: string) {
  const { execa } = await import('execa');
  return (
    (await execa('tmux', ['-S', `${cp.home}/terminals/tmux.sock`, 'has-session', '-t', `=${name}`], { reject: false }))
      .exitCode === 0
  );
}
