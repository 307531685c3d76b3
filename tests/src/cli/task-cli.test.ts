import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { LiveLinkReply, OperatorMessage, TaskRunView } from '@tether/contracts';
import { TETHER_BIN, eventually, openViewer, runCli, useControlPlane } from '../harness/index.ts';
import { AGENT, AGENT_STEP, getRun, readyLane, runUntil } from '../live/task-helpers.ts';

// `tether task …` against a whole tether (real task runner, native live sessions), as an operator would
// type it: start a scripted agent, watch it, pause, talk to it, take it over and give it back, cancel.
const cp = useControlPlane();
const tether = (...args: string[]) => runCli(cp, args);

/** `task run` of the scripted agent in a new lane: its run id from the first line. */
async function run(...extra: string[]) {
  const lane = await readyLane(cp);
  const r = await tether(
    'task',
    'run',
    '--lane',
    lane.lane_id,
    ...extra,
    '--',
    process.execPath,
    AGENT,
    '--steps',
    '600',
  );
  expect([r.exitCode, r.stderr]).toEqual([0, '']);
  const short = /^(\S+)\s+running\s/.exec(r.stdout)?.[1]; // printed short, like git
  expect(short, r.stdout).toHaveLength(8);
  const listed = JSON.parse((await tether('task', 'list', '--lane', lane.lane_id, '--json')).stdout) as {
    items: { task_run_id: string }[];
  };
  const id = listed.items.find((t) => t.task_run_id.startsWith(short!))!.task_run_id;
  return { id, short: short!, lane, out: r.stdout };
}

describe('tether task', () => {
  it('run prints the run id, its status and the read-only link; list and show describe it', async () => {
    const { id, short, lane, out } = await run('--name', 'cli agent');
    expect(out).toMatch(/live ready/);
    expect(out).toMatch(/read-only link \(shown once\):\n\s+http:\/\/\S+\/v\/\S+#t=\S+/);
    expect(out).toContain(`watch: tether task watch ${short}`);

    const list = await tether('task', 'list', '--lane', lane.lane_id);
    expect(list.stdout).toMatch(
      new RegExp(`^${short}\\s+running\\s+lane ${lane.lane_id.slice(0, 8)}\\s+cli agent\\s+live ready`, 'm'),
    );
    const json = await tether('task', 'list', '--lane', lane.lane_id, '--json');
    expect(
      TaskRunView.array()
        .parse(JSON.parse(json.stdout).items)
        .map((r) => r.task_run_id),
    ).toEqual([id]);

    const show = await tether('task', 'show', id);
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toMatch(/live session \S+: ready \(native\), \d+m\d+s left/);
    expect(show.stdout).toMatch(/heartbeat: last /);
    expect(show.stdout).toMatch(/write grants: none/);
    expect(show.stdout).toMatch(/messages: 0/);
    expect(show.stdout).toMatch(/recording: tether play \S+/);
  });

  it('bad input is a clear usage error and starts nothing', async () => {
    const lane = await readyLane(cp);
    const noCommand = await tether('task', 'run', '--lane', lane.lane_id);
    expect([noCommand.exitCode, noCommand.stderr]).toEqual([
      2,
      expect.stringMatching(/Missing required argument 'command'/),
    ]);
    const noLane = await tether('task', 'run', '--', 'true');
    expect(noLane.exitCode).toBe(2);
    expect(noLane.stderr).toMatch(/--lane is required/);
    const agentFlag = await tether('task', 'run', '--lane', lane.lane_id, 'node', '--inspect');
    expect(agentFlag.exitCode).toBe(2);
    expect(agentFlag.stderr).toMatch(/Unknown option '--inspect'/);
    const noSummary = await tether('task', 'release', 'tr-x');
    expect([noSummary.exitCode, noSummary.stderr]).toEqual([2, expect.stringMatching(/--summary is required/)]);
    const unknown = await tether('task', 'show', 'tr-nope');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/NOT_FOUND: task run tr-nope does not exist/);
    const list = await tether('task', 'list', '--lane', lane.lane_id, '--json');
    expect(JSON.parse(list.stdout).items).toEqual([]);
  });

  it('pause --hard, resume, message, takeover (RW link and expiry), release --summary, cancel', async () => {
    const { id } = await run();
    const paused = await tether('task', 'pause', id, '--hard', '--reason', 'check the diff');
    expect([paused.exitCode, paused.stderr]).toEqual([0, '']);
    expect(paused.stdout).toMatch(/paused .*\n\s+hard pause (honoured at|requested)/);
    await runUntil(cp, id, (r) => r.pause?.honoured_at != null);
    expect((await tether('task', 'resume', id)).stdout).toMatch(new RegExp(`^${id.slice(0, 8)}\\s+running`));

    const sent = await tether('task', 'message', id, 'please', 'rebase', 'first');
    expect([sent.exitCode, sent.stderr]).toEqual([0, '']);
    expect(sent.stdout).toMatch(new RegExp(`^message 1 to ${id.slice(0, 8)} at `));
    const asJson = OperatorMessage.parse(
      JSON.parse((await tether('task', 'message', id, 'then test', '--json')).stdout),
    );
    expect(asJson).toMatchObject({ seq: 2, message: 'then test', actor: 'human:ops' });

    const took = await tether('task', 'takeover', id, '--reason', 'my turn');
    expect([took.exitCode, took.stderr]).toEqual([0, '']);
    expect(took.stdout).toMatch(/your read-write link \(shown once\):\n\s+http:\/\/\S+\/v\/\S+#t=\S+/);
    expect(took.stdout).toMatch(/you may type until \S+ \(1[45]m\d+s left\)/);
    const shown = await tether('task', 'show', id);
    expect(shown.stdout).toMatch(/taken over by human:ops since/);
    expect(shown.stdout).toMatch(/write grant: human:ops until \S+ \(\d+m\d+s left\)/);

    const released = await tether('task', 'release', id, '--summary', 'rebased onto main');
    expect([released.exitCode, released.stderr]).toEqual([0, '']);
    expect(released.stdout).toMatch(/summary is in the agent's inbox/);
    expect((await getRun(cp, id)).messages).toBe(3);

    const cancelled = await tether('task', 'cancel', id, '--reason', 'done here');
    expect(cancelled.exitCode).toBe(0);
    expect((await runUntil(cp, id, (r) => r.status === 'cancelled')).ended?.reason).toBe('done here');
    const refused = await tether('task', 'pause', id);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/task run \S+ cancelled/);
  });

  it("watch attaches read-only through its own live-session link: the agent's output arrives, typing does not reach it", async () => {
    const { id } = await run();
    const printed = LiveLinkReply.parse(JSON.parse((await tether('task', 'watch', id, '--json')).stdout));
    expect(printed.link?.url).toMatch(/#t=/);
    expect((await tether('task', 'watch', id, '--print')).stdout).toMatch(/read-only link \(shown once\):/);

    const watcher = execa(process.execPath, [TETHER_BIN, 'task', 'watch', id], {
      env: { ...process.env, TETHER_URL: cp.url, TETHER_TOKEN: cp.token },
      reject: false,
      stdin: 'pipe',
    });
    let out = '';
    let err = '';
    watcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    watcher.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await eventually(
        () => err,
        (e) => /attached to share \S+ as .* \(read-only\)/.test(e),
      );
      await eventually(
        () => out,
        (o) => AGENT_STEP.test(o),
      );
      watcher.stdin!.write('typed-by-a-watcher\r');
      await new Promise((r) => setTimeout(r, 1_000)); // had it been let through, the terminal would echo it by now
      // Ctrl-] detaches: exit 0.
      watcher.stdin!.write('\x1d');
      expect((await watcher).exitCode).toBe(0);
    } finally {
      watcher.kill();
    }
    expect(out).not.toContain('typed-by-a-watcher');
    // Another watcher's view of the terminal (its scrollback) has the agent's steps but not the keys.
    const other = await openViewer(printed.link!.url);
    try {
      await eventually(
        () => other.output(),
        (o) => AGENT_STEP.test(o),
      );
      expect(other.output()).not.toContain('typed-by-a-watcher');
    } finally {
      other.close();
    }
  });
});
