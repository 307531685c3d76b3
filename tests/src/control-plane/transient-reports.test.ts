import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TetherError, type Command } from '@tether/contracts';
import { registry } from '@tether/machines';
import { ProjectionRunner, actorsProjection } from '@tether/projector';
import { ActorHost, Dispatcher, silentLogger, type Send } from '@tether/runtime';
import { LaneWorker, LocalTerminalIO, TerminalWorker, Workspaces } from '@tether/workers';
import { cmd, eventually, gitRepo, uid, useNats } from '../harness/index.ts';

// Fault injection on the workers' port to the command bus (not a mock of NATS): the first reports of
// one verb fail with UNAVAILABLE, as they did while a cluster elected a new leader (issue 10, defect 9).

const ctx = useNats();
let repo: string;
let home: string;
let host: ActorHost;
let dispatcher: Dispatcher;
const running: { stop(): Promise<void> }[] = [];
const failing = new Map<string, number>(); // verb -> reports of it still to fail
const sent: string[] = [];

/** The real dispatcher, behind a port that fails the first reports of a verb (see `failing`). */
const send: Send = async (command: Command) => {
  sent.push(`${command.entity}.${command.verb}`);
  const left = failing.get(command.verb) ?? 0;
  if (left > 0) {
    failing.set(command.verb, left - 1);
    throw new TetherError('UNAVAILABLE', `event store unavailable (append): injected fault on ${command.verb}`);
  }
  return dispatcher.dispatch(command);
};

beforeAll(async () => {
  repo = await gitRepo();
  home = mkdtempSync(join(tmpdir(), 'tether-transient-'));
  host = new ActorHost({ store: ctx.store, registry });
  dispatcher = new Dispatcher(host, {});
  const lanes = new LaneWorker(
    ctx.store,
    send,
    new Workspaces(`ws1=${repo}`, repo, join(home, 'worktrees')),
    silentLogger,
  );
  const terminals = new TerminalWorker(ctx.store, host, send, new LocalTerminalIO(), silentLogger, {
    dir: join(home, 'terminals'),
    ownerId: `test-${process.pid}`,
    shell: '/bin/sh',
  });
  // The actors read model too: the lane cleanup finds the worktree through it.
  const projection = new ProjectionRunner(ctx.store, actorsProjection(registry));
  for (const w of [projection, lanes, terminals]) {
    await w.start();
    running.push(w);
  }
});
afterAll(async () => {
  for (const w of running) await w.stop();
  await execa('tmux', ['-S', join(home, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
});

const worktreesOf = async (laneId: string) =>
  (await execa('git', ['-C', repo, 'worktree', 'list', '--porcelain'])).stdout
    .split('\n')
    .filter((l) => l.startsWith('worktree ') && l.endsWith(laneId));
const typesOf = async (entity: string, id: string) => (await ctx.store.readEntity(entity, id)).map((e) => e.event.type);
/** The state the entity leaves `pending` for (the worker's report decides which), bounded. */
const settled = (entity: string, id: string, pending: string) =>
  eventually(
    async () => String((await host.state(entity, id))?.value),
    (s) => s !== pending,
    20_000,
  );

async function readyLane(): Promise<string> {
  const laneId = uid('lane').replace(/[^a-z0-9-]/gi, '');
  await host.execute(cmd('lane', 'create', laneId, { workspaceId: 'ws1', projectContextId: 'p', displayName: 'x' }));
  expect(await settled('lane', laneId, 'provisioning')).toBe('ready');
  return laneId;
}

describe('a worker whose report fails for a moment', () => {
  beforeEach(() => failing.clear());

  it('retries a provisioned report that fails twice: the lane is ready, with one worktree', async () => {
    failing.set('provisioned', 2);
    const laneId = await readyLane();
    expect(await typesOf('lane', laneId)).toEqual(['lane.create', 'lane.provisioned']);
    expect(await worktreesOf(laneId)).toHaveLength(1);
  });

  it('past its retries the event comes again, finds the worktree and reports it provisioned', async () => {
    const before = sent.length;
    failing.set('provisioned', 8); // more than one delivery's tries
    const laneId = await readyLane();
    expect(await typesOf('lane', laneId)).toEqual(['lane.create', 'lane.provisioned']);
    expect(await worktreesOf(laneId)).toHaveLength(1);
    expect(sent.slice(before).filter((v) => v === 'lane.provisioned').length).toBe(9);
  });

  it('a cleaned report that fails is retried, never reported as cleanupFailed', async () => {
    const laneId = await readyLane();
    failing.set('cleaned', 8);
    await host.execute(cmd('lane', 'cleanup', laneId));
    expect(await settled('lane', laneId, 'cleaning')).toBe('closed');
    expect(await typesOf('lane', laneId)).toEqual(['lane.create', 'lane.provisioned', 'lane.cleanup', 'lane.cleaned']);
    expect(await worktreesOf(laneId)).toHaveLength(0);
  });

  it('a terminal whose started report fails is active, with one tmux session', async () => {
    const laneId = await readyLane();
    const terminalId = uid('term').replace(/[^a-z0-9-]/gi, '');
    failing.set('started', 8);
    await host.execute(cmd('terminal', 'spawn', terminalId, { laneId, sessionId: 's1' }));
    expect(await settled('terminal', terminalId, 'spawning')).toBe('active');
    expect(await typesOf('terminal', terminalId)).toEqual(['terminal.spawn', 'terminal.started']);
    const sessions = await execa('tmux', ['-S', join(home, 'terminals', 'tmux.sock'), 'list-sessions', '-F', '#S']);
    expect(sessions.stdout.split('\n').filter((s) => s === terminalId)).toHaveLength(1);
  });
});
