import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { createTestModel } from 'xstate/graph';
import type { Actor } from '@tether/contracts';
import { taskRun } from './index.ts';
import { hasLiveAgent, isEndedTaskRun, taskRunMachine, type TaskRunEvent } from './task-run.machine.ts';
import { at, cmd, given } from './testing/index.ts';

// ops (an operator) runs an agent in lane l1; the task worker reports as the system actor.
const OPS = 'human:ops';
const W = 'system:worker:tasks';
const queue = cmd(
  'queue',
  {
    laneId: 'l1',
    name: 'agent',
    command: ['node', 'agent.mjs'],
    sessionId: 's1',
    terminalId: 'tt-1',
    live: false,
    installationId: 'inst-1',
    correlationId: 'corr-1',
  },
  { by: OPS },
);
const started = cmd(
  'started',
  {
    agentPid: 4242,
    tmuxSession: 'tr-1',
    inboxPath: '/h/tasks/tr-1/inbox.jsonl',
    controlPath: '/h/tasks/tr-1/control.json',
  },
  { by: W, at: 1_000 },
);
const pause = (mode: 'soft' | 'hard', ms = 2_000) => cmd('pause', { mode, reason: 'look' }, { by: OPS, at: ms });
const honoured = (controlSeq: number, ms = 2_500) => cmd('pauseHonoured', { controlSeq }, { by: W, at: ms });
const takeover = cmd('takeover', { mode: 'hard', reason: 'by hand' }, { by: 'human:carol', at: 3_000 });
const exited = (code: number | null, signal: string | null = null) =>
  cmd('exited', { code, signal }, { by: W, at: 9_000 });

describe('taskRun: queued, running, ended by its exit', () => {
  it('queue: queued, started by its caller', () =>
    given(taskRun)
      .when(queue)
      .then({
        state: 'queued',
        context: { laneId: 'l1', terminalId: 'tt-1', startedBy: { kind: 'human', id: 'ops' }, controlSeq: 0 },
      }));

  it("started: running, with the agent's pid and its files", () =>
    given(taskRun, queue)
      .when(started)
      .then({
        state: 'running',
        context: { agentPid: 4242, startedAt: at(1_000), inboxPath: '/h/tasks/tr-1/inbox.jsonl' },
      }));

  it('exit 0 succeeds; any other code or a signal fails, with the reason', () => {
    given(taskRun, queue, started)
      .when(exited(0))
      .then({ state: 'succeeded', final: true, context: { exit: { code: 0, signal: null } } });
    given(taskRun, queue, started)
      .when(exited(3))
      .then({ state: 'failed', context: { endReason: 'the agent exited with code 3' } });
    given(taskRun, queue, started)
      .when(exited(null, 'SIGKILL'))
      .then({ state: 'failed', context: { endReason: 'the agent was killed by SIGKILL' } });
  });

  it('startFailed and lost fail the run with their reason', () => {
    given(taskRun, queue)
      .when('startFailed', { reason: 'no worktree' }, { by: W })
      .then({ state: 'failed', context: { endReason: 'no worktree' } });
    given(taskRun, queue, started)
      .when('lost', { reason: 'tmux gone' }, { by: W })
      .then({ state: 'failed', context: { endReason: 'tmux gone' } });
  });

  it('an ended run takes nothing more, and says when and why', () =>
    given(taskRun, queue, started, exited(0))
      .when('message', { message: 'hi' }, { by: OPS })
      .thenRejected('TASK_RUN_SUCCEEDED', /ended|succeeded at .*; message is not possible/));
});

describe('taskRun: controls', () => {
  it('pause bumps the control seq; only a report naming it honours it', () => {
    given(taskRun, queue, started)
      .when(pause('soft'))
      .then({ state: 'paused', context: { controlSeq: 1, pause: { mode: 'soft', by: OPS, reason: 'look' } } });
    given(taskRun, queue, started, pause('hard'))
      .when(honoured(1))
      .then({ context: { pause: { mode: 'hard', honouredAt: at(2_500) } } });
    given(taskRun, queue, started, pause('hard')).when(honoured(0)).thenRejected('TASK_RUN_STALE_CONTROL');
  });

  it('resume runs again; a second pause while paused is refused', () => {
    given(taskRun, queue, started, pause('soft'))
      .when('resume', {}, { by: OPS, at: 4_000 })
      .then({ state: 'running', context: { controlSeq: 2, pause: undefined } });
    given(taskRun, queue, started, pause('soft')).when(pause('hard')).thenRejected('TASK_RUN_PAUSED');
    given(taskRun, queue, started).when('resume', {}, { by: OPS }).thenRejected('TASK_RUN_NOT_PAUSED');
  });

  it('takeover pauses and holds the keyboard; only release (with a summary, counted as a message) gives it back', () => {
    given(taskRun, queue, started)
      .when(takeover)
      .then({
        state: 'paused',
        context: { takeover: { by: 'human:carol', reason: 'by hand' }, pause: { mode: 'hard' } },
      });
    given(taskRun, queue, started, takeover).when('resume', {}, { by: OPS }).thenRejected('TASK_RUN_TAKEN_OVER');
    given(taskRun, queue, started, takeover)
      .when('release', { summary: 'fixed it' }, { by: 'human:carol' })
      .then({ state: 'running', context: { takeover: undefined, messages: 1, controlSeq: 2 } });
    // Another operator may release it: the run remembers whose takeover ended (whose write grant goes).
    given(taskRun, queue, started, takeover)
      .when('release', { summary: 'handing back' }, { by: OPS })
      .then({ state: 'running', context: { releasedTakeoverBy: 'human:carol' } });
    given(taskRun, queue, started, pause('soft'))
      .when('release', { summary: 'x' })
      .thenRejected('TASK_RUN_NOT_TAKEN_OVER');
    // A run paused by someone else can be taken over; its pause becomes the takeover's.
    given(taskRun, queue, started, pause('soft'))
      .when(takeover)
      .then({ state: 'paused', context: { controlSeq: 2, pause: { mode: 'hard', by: 'human:carol' } } });
  });

  it('cancel while paused still ends the run: cancelling until the agent exits, then cancelled', () => {
    given(taskRun, queue, started, pause('hard'))
      .when('cancel', { reason: 'enough' }, { by: OPS, at: 5_000 })
      .then({ state: 'cancelling', context: { endReason: 'enough', endedBy: OPS } });
    given(taskRun, queue, started, pause('hard'), cmd('cancel', {}, { by: OPS }))
      .when(exited(null, 'SIGTERM'))
      .then({
        state: 'cancelled',
        final: true,
        context: { endReason: `cancelled by ${OPS}`, exit: { code: null, signal: 'SIGTERM' } },
      });
    given(taskRun, queue).when('cancel', {}, { by: OPS }).then({ state: 'cancelled', final: true });
  });

  it('messages are counted while queued, running or paused', () => {
    given(taskRun, queue)
      .when('message', { message: 'a' }, { by: OPS })
      .then({ context: { messages: 1 } });
    given(taskRun, queue, started, pause('soft'))
      .when('message', { message: 'b' }, { by: OPS })
      .then({ context: { messages: 1 } });
  });
});

describe('taskRun: model paths', () => {
  const ops: Actor = { kind: 'human', id: 'ops' };
  const sys: Actor = { kind: 'system', id: 'worker' };
  const ev = (type: string, data: Record<string, unknown>, actor: Actor = sys, ms = 0) =>
    ({ type, data, actor, at: at(ms) }) as TaskRunEvent;
  const events = [
    ev('queue', queue.data!, ops),
    ev('started', started.data!),
    ev('startFailed', { reason: 'no worktree' }),
    ev('pause', { mode: 'soft' }, ops),
    ev('pause', { mode: 'hard' }, ops),
    ev('pauseHonoured', { controlSeq: 1 }),
    ev('resume', {}, ops),
    ev('takeover', { mode: 'hard' }, ops),
    ev('release', { summary: 'done' }, ops),
    ev('cancel', {}, ops),
    ev('message', { message: 'hi' }, ops),
    ev('exited', { code: 0, signal: null }),
    ev('exited', { code: 1, signal: null }),
    ev('lost', { reason: 'tmux gone' }),
  ];
  const model = createTestModel(taskRunMachine, {
    events,
    serializeState: (s) =>
      JSON.stringify([(s as AnyMachineSnapshot).value, (s as AnyMachineSnapshot).context.takeover !== undefined]),
  });
  const paths = model.getShortestPaths();

  it('models every event the machine takes', () =>
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      [...taskRunMachine.events].filter((t) => !t.startsWith('xstate.')).sort(),
    ));

  it('reaches every state, each through accepted events only', () => {
    const visited = new Set(paths.flatMap((p) => p.steps.map((s) => String(s.state.value))));
    expect([...visited].sort()).toEqual(Object.keys(taskRunMachine.root.states).sort());
    for (const p of paths) {
      let s = initialTransition(taskRunMachine)[0] as AnyMachineSnapshot;
      for (const st of p.steps.filter((x) => (x.event.type as string) !== 'xstate.init')) {
        expect(s.can(st.event)).toBe(true);
        s = transition(taskRunMachine, s, st.event as TaskRunEvent)[0] as AnyMachineSnapshot;
      }
      expect(s.value).toEqual(p.state.value);
    }
  });

  it('on every path: an agent is live only between started and its end; succeeded only by exit 0; a run taken over is paused until released or cancelled', () => {
    for (const p of paths) {
      const v = String(p.state.value);
      const types = p.steps.map((s) => s.event.type as string);
      if (hasLiveAgent(v)) expect(types).toContain('started');
      if (v === 'succeeded') expect(p.steps.at(-1)?.event).toMatchObject({ type: 'exited', data: { code: 0 } });
      if (v === 'cancelled') expect(types).toContain('cancel');
      if (isEndedTaskRun(v)) expect(p.state.status).toBe('done');
      if (p.state.context.takeover && !isEndedTaskRun(v)) expect(['paused', 'cancelling']).toContain(v);
    }
  });
});
