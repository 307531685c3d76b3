import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ActorState,
  CommandAccepted,
  LiveLinkReply,
  OperatorMessage,
  ShareCreated,
  taskSubjects,
  type Command,
} from '@tether/contracts';
import { processesMarked, procStat } from '@tether/runtime';
import { taskRunIds, termSubjects } from '@tether/workers';
import {
  TetherProcess,
  api,
  eventually,
  gitRepo,
  killTmuxServers,
  uid,
  useControlPlane,
  useNats,
  type Tether,
} from '../harness/index.ts';
import { as, createShare, policyFile } from '../sharing/helpers.ts';
import { agentCommand, readyLane } from './task-helpers.ts';

const OWNER = { kind: 'human', id: 'ops' } as const; // the owner's credential (cp.token): an operator

async function runState(t: Tether, entity = 'taskRun', id: string) {
  const r = await api(t, 'GET', `/v1/entities/${entity}/${id}`);
  return r.status === 200 ? ActorState.parse(r.body) : undefined;
}

/** One command through the front door as the owner (an operator); the whole reply. */
async function send(
  t: Tether,
  entity: string,
  verb: string,
  entityId: string | undefined,
  data: object,
  id = uid('cmd'),
) {
  return api(
    t,
    'POST',
    `/v1/commands/${entity}/${verb}`,
    { ...(entityId ? { entityId } : {}), data },
    {
      'idempotency-key': id,
    },
  );
}

/** Output of a terminal on tether.term.<id>.out, from before it starts. */
function watch(nc: ReturnType<typeof useNats>['store']['nc'], terminalId: string) {
  let text = '';
  const sub = nc.subscribe(termSubjects.out(terminalId), {
    callback: (_e, m) => {
      text += new TextDecoder().decode(m.data);
    },
  });
  return { text: () => text, stop: () => sub.unsubscribe() };
}

const until = (t: Tether, id: string, ok: (s: ActorState) => boolean, ms = 30_000) =>
  eventually(
    () => runState(t, 'taskRun', id),
    (s) => !!s && ok(s),
    ms,
  ) as Promise<ActorState>;

describe('task runs in a real tether (tmux, git, a scripted agent)', () => {
  // People may share (a write participant types during a takeover; the writer session does not).
  const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
  const tasksSock = () => join(cp.home, 'tasks', 'tmux.sock');
  /** "role|active" of each pane of the run's session, in order. */
  const paneRoles = async (runId: string) =>
    (
      await execa('tmux', ['-S', tasksSock(), 'list-panes', '-t', `=${runId}`, '-F', '#{@tether_role}|#{pane_active}'])
    ).stdout.split('\n');
  afterAll(async () => {
    await execa('tmux', ['-S', tasksSock(), 'kill-server'], { reject: false });
  });

  /** taskRun.run as the owner, with its output watched from before the agent starts. */
  async function start(command: string[], name?: string) {
    const lane = await readyLane(cp);
    const id = uid('run');
    const { runId, terminalId } = taskRunIds({ id });
    const out = watch(cp.ctx.store.nc, terminalId);
    const r = await send(
      cp,
      'taskRun',
      'run',
      undefined,
      { lane_id: lane.lane_id, command, ...(name ? { name } : {}) },
      id,
    );
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
    const reply = CommandAccepted.parse(r.body);
    const result = LiveLinkReply.parse(reply.result);
    expect(result.task_run.task_run_id).toBe(runId);
    return { lane, runId, terminalId, out, result, commandId: id };
  }

  it('queued → running → succeeded with exit 0: the agent runs in the worktree, marked, watched from its first line', async () => {
    // The reply waits for the live session too: the agent must outlive it to be seen running and marked.
    const { lane, runId, terminalId, out, result } = await start(agentCommand({ steps: 2, stepMs: 2_500 }));
    expect(result.task_run).toMatchObject({
      status: 'running',
      lane_id: lane.lane_id,
      terminal_id: terminalId,
      name: 'node',
    });
    expect(result.task_run.agent_pid).toBeGreaterThan(0);
    const pids = processesMarked('TETHER_TASK_RUN_ID', runId);
    const ended = await until(cp, runId, (s) => s.value === 'succeeded');
    expect(ended.context.exit).toEqual({ code: 0, signal: null });
    // Its first line reached the terminal's viewers (it waited until the terminal relayed it); the relay
    // may trail the run's end a little.
    await eventually(
      () => out.text(),
      (t) => t.includes('scripted agent: 2 steps') && t.includes('step 2/2'),
    );
    expect(pids.length).toBeGreaterThan(0);
    // The run folder is private; its terminal is closed once the run ended.
    const dir = join(cp.home, 'tasks', runId);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'inbox.jsonl')).mode & 0o777).toBe(0o600);
    // The task log's line of the exit is written when the worker hears of the persisted exit: after it.
    await eventually(
      () => readFileSync(join(dir, 'task.log'), 'utf8'),
      (log) => /started: agent pid \d+[\s\S]*exited with code 0/.test(log),
    );
    await eventually(
      async () => (await runState(cp, 'terminal', terminalId))?.value,
      (v) => v === 'closed',
    );
    out.stop();
  }, 90_000);

  it('a non-zero exit fails the run with its code; a resent run command names the same run', async () => {
    const lane = await readyLane(cp);
    const id = uid('run');
    const body = { lane_id: lane.lane_id, command: agentCommand({ steps: 1, exit: 3 }), name: 'failing' };
    const first = CommandAccepted.parse((await send(cp, 'taskRun', 'run', undefined, body, id)).body);
    const again = CommandAccepted.parse((await send(cp, 'taskRun', 'run', undefined, body, id)).body);
    expect(again.entityId).toBe(first.entityId);
    const ended = await until(cp, first.entityId, (s) => s.value === 'failed');
    expect(ended.context).toMatchObject({ exit: { code: 3, signal: null }, endReason: 'the agent exited with code 3' });
  }, 90_000);

  it('refuses a lane that does not exist, and a terminal that claims a run it is not', async () => {
    const r = await send(cp, 'taskRun', 'run', undefined, { lane_id: 'no-such-lane', command: ['true'] });
    expect(r.status).toBe(404);
    expect(JSON.stringify(r.body)).toContain('lane no-such-lane does not exist');
    const { lane, runId } = await start(agentCommand({ steps: 1 }));
    const session = (await runState(cp, 'taskRun', runId))!.context.sessionId as string;
    const spawn = await send(cp, 'terminal', 'spawn', uid('term'), {
      laneId: lane.lane_id,
      sessionId: session,
      taskRunId: runId,
    });
    expect(spawn.status).toBe(409);
    expect(JSON.stringify(spawn.body)).toContain('NOT_THE_RUNS_TERMINAL');
    await until(cp, runId, (s) => s.value === 'succeeded');
  }, 90_000);

  it('four panes (agent, task log, operator inbox, operator shell); the terminal shows the whole layout', async () => {
    const { runId, terminalId, out } = await start(agentCommand({ steps: 40, stepMs: 250 }));
    const panes = await paneRoles(runId);
    expect(panes).toEqual(['agent|1', 'task log|0', 'operator inbox|0', 'operator shell|0']);
    const opts = await execa('tmux', ['-S', tasksSock(), 'show-options', '-g', 'history-limit']);
    expect(opts.stdout).toContain('50000');
    const screen = await eventually(
      async () =>
        (
          await execa('tmux', [
            '-S',
            join(cp.home, 'terminals', 'tmux.sock'),
            'capture-pane',
            '-p',
            '-t',
            `=${terminalId}:`,
          ])
        ).stdout,
      (s) => ['agent', 'task log', 'operator inbox', 'operator shell', 'step '].every((w) => s.includes(w)),
    );
    expect(screen).toContain('operator inbox: messages to the agent appear here');
    // The agent's output, relayed through the layout (the relay may trail tmux's own screen a little).
    await eventually(
      () => out.text(),
      (t) => /step \d+\/40/.test(t),
    );
    // Keys typed into the run's terminal never reach tmux itself: no prefix (C-b : kill-server would end every run).
    const writer = (await runState(cp, 'terminal', terminalId))!.context.sessionId as string;
    // One key at a time: tmux reads a fast burst as a paste, which no binding sees.
    for (const data of ['\u0002', ':', 'kill-server', '\r']) {
      cp.ctx.store.nc.publish(termSubjects.in(terminalId), JSON.stringify({ data, from: writer }));
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 700));
    expect(await paneRoles(runId)).toHaveLength(4);
    expect((await send(cp, 'taskRun', 'cancel', runId, {})).status).toBe(200);
    await until(cp, runId, (s) => s.value === 'cancelled');
    out.stop();
  }, 90_000);

  it('soft pause: the agent prints the marker at its checkpoint and acknowledges; resume lets it finish', async () => {
    const { runId, out } = await start(agentCommand({ steps: 30, stepMs: 150 }));
    await eventually(
      () => out.text(),
      (t) => t.includes('step 2/30'),
    );
    expect((await send(cp, 'taskRun', 'pause', runId, { mode: 'soft', reason: 'look at it' })).status).toBe(200);
    const paused = await until(cp, runId, (s) => !!(s.context.pause as { honouredAt?: string })?.honouredAt);
    expect(paused.value).toBe('paused');
    await eventually(
      () => out.text(),
      (t) => t.includes('== PAUSED FOR OPERATOR =='),
    );
    const control = JSON.parse(readFileSync(join(cp.home, 'tasks', runId, 'control.json'), 'utf8'));
    expect(control).toMatchObject({
      state: 'paused',
      mode: 'soft',
      seq: paused.context.controlSeq,
      by: 'human:ops',
      reason: 'look at it',
    });
    // Paused: no step goes by.
    const steps = (out.text().match(/step \d+\/30/g) ?? []).length;
    await new Promise((r) => setTimeout(r, 800));
    expect((out.text().match(/step \d+\/30/g) ?? []).length).toBe(steps);
    expect((await send(cp, 'taskRun', 'resume', runId, {})).status).toBe(200);
    await until(cp, runId, (s) => s.value === 'succeeded', 60_000);
    expect(readFileSync(join(cp.home, 'tasks', runId, 'task.log'), 'utf8')).toMatch(
      /paused by human:ops \(soft\) \(look at it\)[\s\S]*pause honoured[\s\S]*resumed by human:ops/,
    );
    out.stop();
  }, 120_000);

  it('hard pause stops the process group (state T) and SIGCONT on resume; a cancel during a pause ends the run', async () => {
    const { runId, out } = await start(agentCommand({ steps: 200, stepMs: 100 }));
    await eventually(
      () => out.text(),
      (t) => t.includes('step 2/200'),
    );
    expect((await send(cp, 'taskRun', 'pause', runId, { mode: 'hard' })).status).toBe(200);
    await until(cp, runId, (s) => !!(s.context.pause as { honouredAt?: string })?.honouredAt);
    const pids = processesMarked('TETHER_TASK_RUN_ID', runId);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) expect(procStat(pid)?.state).toBe('T');
    expect((await send(cp, 'taskRun', 'resume', runId, {})).status).toBe(200);
    await eventually(
      () => pids.map((p) => procStat(p)?.state),
      (states) => states.every((s) => s !== 'T'),
    );
    // Hard-paused again, then cancelled while paused: the run still ends.
    expect((await send(cp, 'taskRun', 'pause', runId, { mode: 'hard' })).status).toBe(200);
    await until(cp, runId, (s) => !!(s.context.pause as { honouredAt?: string })?.honouredAt);
    expect((await send(cp, 'taskRun', 'cancel', runId, { reason: 'enough' })).status).toBe(200);
    const ended = await until(cp, runId, (s) => s.value === 'cancelled');
    expect(ended.context.endReason).toBe('enough');
    expect(processesMarked('TETHER_TASK_RUN_ID', runId)).toEqual([]);
    out.stop();
  }, 120_000);

  it('an operator message reaches the real agent process, the inbox file, the inbox pane and tether.task.<id>.inbox', async () => {
    const received = join(mkdtempSync(join(tmpdir(), 'tether-agent-')), 'received.jsonl');
    const { runId, out } = await start(agentCommand({ steps: 60, stepMs: 100, received }));
    const published: OperatorMessage[] = [];
    const sub = cp.ctx.store.nc.subscribe(taskSubjects.inbox(runId), {
      callback: (_e, m) => void published.push(OperatorMessage.parse(JSON.parse(new TextDecoder().decode(m.data)))),
    });
    await cp.ctx.store.nc.flush();
    expect((await send(cp, 'taskRun', 'message', runId, { message: 'please run the tests first' })).status).toBe(200);
    const got = await eventually(
      () => (existsSync(received) ? readFileSync(received, 'utf8') : ''),
      (t) => t.includes('please run the tests first'),
    );
    const m = OperatorMessage.parse(JSON.parse(got.trim().split('\n')[0]!));
    expect(m).toMatchObject({ actor: 'human:ops', message: 'please run the tests first', task_run_id: runId });
    const inbox = readFileSync(join(cp.home, 'tasks', runId, 'inbox.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(inbox.map((l) => OperatorMessage.parse(JSON.parse(l)))).toEqual([m]);
    await eventually(
      () => published,
      (p) => p.length > 0,
    );
    expect(published[0]).toEqual(m);
    // Watchers see it in the agent's pane and in the inbox pane.
    await eventually(
      () => out.text(),
      (t) => t.includes('operator says: please run the tests first') && t.includes('human:ops: please run'),
    );
    sub.unsubscribe();
    expect((await send(cp, 'taskRun', 'cancel', runId, {})).status).toBe(200);
    await until(cp, runId, (s) => s.value === 'cancelled');
    out.stop();
  }, 120_000);

  it("takeover holds the writer's input until release; release sends the summary and resumes the agent", async () => {
    const received = join(mkdtempSync(join(tmpdir(), 'tether-agent-')), 'received.jsonl');
    const { runId, terminalId, out } = await start(agentCommand({ steps: 80, stepMs: 100, received }));
    await eventually(
      () => out.text(),
      (t) => t.includes('step 2/80'),
    );
    const run = (await runState(cp, 'taskRun', runId))!;
    const writer = run.context.sessionId as string;
    // carol watches through a share with a write grant (as a live session's grant would give her).
    const shared = ShareCreated.parse(
      (await createShare(cp, 'human:ops', { terminal_id: terminalId, access: 'write', participant: 'carol' })).body,
    );
    const carol = `share:${shared.share.share_id}:${shared.link!.participant_id}`;
    const granted = await as(
      cp,
      'human:ops',
      'POST',
      `/v1/shares/${shared.share.share_id}/participants/${shared.link!.participant_id}/grant-write`,
      { ttl_ms: 60_000 },
    );
    expect(granted.status).toBe(200);
    // taskRun.takeover is the live sessions' application command; its step is what the worker acts on.
    await cp.server.host.execute(hostCmd('takeover', runId, { mode: 'hard', reason: 'fixing it by hand' }));
    await until(cp, runId, (s) => !!(s.context.pause as { honouredAt?: string })?.honouredAt);
    const active = await paneRoles(runId);
    expect(active).toContain('operator shell|1');
    cp.ctx.store.nc.publish(termSubjects.in(terminalId), JSON.stringify({ data: 'typed-while-held', from: writer }));
    await new Promise((r) => setTimeout(r, 1_500));
    const panesText = async () =>
      (
        await Promise.all(
          ['0', '1', '2', '3'].map(
            async (p) =>
              (
                await execa('tmux', ['-S', tasksSock(), 'capture-pane', '-p', '-t', `=${runId}:0.${p}`])
              ).stdout,
          ),
        )
      ).join('\n');
    expect(await panesText()).not.toContain('typed-while-held');
    // A participant with a write grant still types: into the operator shell, the active pane.
    cp.ctx.store.nc.publish(
      termSubjects.in(terminalId),
      JSON.stringify({ data: 'echo by-carol-$((3*3))\r', from: carol }),
    );
    await eventually(
      async () => (await execa('tmux', ['-S', tasksSock(), 'capture-pane', '-p', '-t', `=${runId}:0.3`])).stdout,
      (t) => t.includes('by-carol-9'),
    );
    await cp.server.host.execute(hostCmd('release', runId, { summary: 'fixed the import, carry on' }));
    await until(cp, runId, (s) => s.value === 'running');
    // Delivered after the release, to the agent's pane (selected again).
    const agentPane = await eventually(
      async () => (await execa('tmux', ['-S', tasksSock(), 'capture-pane', '-p', '-t', `=${runId}:0.0`])).stdout,
      (t) => t.includes('typed-while-held'),
    );
    expect(agentPane).toContain('typed-while-held');
    await eventually(
      () => (existsSync(received) ? readFileSync(received, 'utf8') : ''),
      (t) => t.includes('fixed the import, carry on'),
    );
    expect(readFileSync(join(cp.home, 'tasks', runId, 'task.log'), 'utf8')).toMatch(
      /taken over by human:ops \(hard\) \(fixing it by hand\)[\s\S]*released by human:ops/,
    );
    await until(cp, runId, (s) => s.value === 'succeeded', 60_000);
    out.stop();
  }, 120_000);
});

function hostCmd(verb: string, entityId: string, data: Record<string, unknown>): Command {
  const id = uid('cmd');
  return { id, entity: 'taskRun', verb, entityId, data, actor: OWNER, correlationId: id, causationId: id };
}

describe('a task run outlives a kill -9 of tether', () => {
  const ctx = useNats();
  const procs: TetherProcess[] = [];
  const homes: string[] = [];
  // After each test: tethers on one NATS share the control plane's work queues (a terminal's spawn goes
  // to whichever takes it), so one test's tether must not outlive it.
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill()));
    for (const home of homes.splice(0)) await killTmuxServers(home);
  });

  async function crashDuringRun(alsoKillTmux: boolean, received?: string) {
    const home = mkdtempSync(join(tmpdir(), 'tether-task-crash-'));
    homes.push(home);
    const env = { NATS_URL: ctx.nats.url, TETHER_HOME: home, TETHER_WORKSPACES: `ws1=${await gitRepo()}` };
    const first = await TetherProcess.start(env);
    procs.push(first);
    const lane = await readyLane(first);
    const command = agentCommand({ steps: 120, stepMs: 150, ...(received ? { received } : {}) });
    const r = await send(first, 'taskRun', 'run', undefined, { lane_id: lane.lane_id, command });
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
    const runId = CommandAccepted.parse(r.body).entityId;
    await until(first, runId, (s) => s.value === 'running');
    await first.kill('SIGKILL');
    if (alsoKillTmux) await execa('tmux', ['-S', join(home, 'tasks', 'tmux.sock'), 'kill-server'], { reject: false });
    const second = await TetherProcess.start(env);
    procs.push(second);
    return { second, runId };
  }

  it('after the restart the run goes on (it still takes messages) and ends succeeded', async () => {
    const received = join(mkdtempSync(join(tmpdir(), 'tether-agent-')), 'received.jsonl');
    const { second, runId } = await crashDuringRun(false, received);
    // The agent lived through the crash: the new tether still reaches it.
    expect((await runState(second, 'taskRun', runId))?.value).toBe('running');
    const m = await send(second, 'taskRun', 'message', runId, { message: 'still there?' });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    await eventually(
      () => (existsSync(received) ? readFileSync(received, 'utf8') : ''),
      (t) => t.includes('still there?'),
      30_000,
    );
    const ended = await until(
      second,
      runId,
      (s) => ['succeeded', 'failed', 'cancelled'].includes(String(s.value)),
      60_000,
    );
    expect(ended.value).toBe('succeeded');
    expect(ended.context.exit).toEqual({ code: 0, signal: null });
  }, 150_000);

  it('with its tmux server gone too, the run ends lost, with the reason', async () => {
    const { second, runId } = await crashDuringRun(true);
    const ended = await until(
      second,
      runId,
      (s) => ['succeeded', 'failed', 'cancelled'].includes(String(s.value)),
      60_000,
    );
    expect(ended.value).toBe('failed');
    expect(String(ended.context.endReason)).toMatch(/tmux session .* gone/);
  }, 150_000);

  it('another tether on the same NATS, started and killed, leaves the run alone: only its own tether acts on it', async () => {
    const { second, runId } = await crashDuringRun(false);
    const otherHome = mkdtempSync(join(tmpdir(), 'tether-task-other-'));
    homes.push(otherHome);
    const otherEnv = { NATS_URL: ctx.nats.url, TETHER_HOME: otherHome, TETHER_WORKSPACES: `ws1=${await gitRepo()}` };
    const other = await TetherProcess.start(otherEnv);
    await other.kill('SIGKILL');
    procs.push(await TetherProcess.start(otherEnv)); // its task worker starts by checking the runs it holds: none
    const m = await send(second, 'taskRun', 'message', runId, { message: 'ping' });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    const ended = await until(
      second,
      runId,
      (s) => ['succeeded', 'failed', 'cancelled'].includes(String(s.value)),
      60_000,
    );
    expect([ended.value, ended.context.endReason]).toEqual(['succeeded', 'the agent exited with code 0']);
  }, 150_000);
});
