import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { createTestModel } from 'xstate/graph';
import type { Actor } from '@tether/contracts';
import { recovery } from './index.ts';
import { recoveryMachine, recoveryResult, type RecoveryContext, type RecoveryEvent } from './recovery.machine.ts';
import { at, cmd, given, type Step } from './testing/index.ts';

// A run the way the recovery runner writes it: system:recovery reports each stage; ann (an operator)
// dismisses, leaves safe mode and cleans what needs review.
const SYS = 'system:recovery';
const ANN = 'human:ann';
const crash = {
  instanceId: 'inst-1',
  pid: 100,
  startedAt: at(0),
  lastHeartbeatAt: at(1_000),
  crashedAt: at(2_000),
  exit: { pid: 100, code: null, signal: 'SIGKILL', reason: 'exited', at: at(2_000) },
};
const wt = { id: 'worktree:/w/l9', kind: 'worktree', ref: '/w/l9', reason: 'uncommitted changes' };
const proc = { id: 'process:77', kind: 'process', ref: 'pid 77', reason: 'marked, no live entity' };
const noCleanup = { terminated: 0, removed: 0, reviewPending: 0, failed: [] as { id: string; reason: string }[] };

const s = (verb: string, data: Record<string, unknown> = {}, ms = 10_000) => cmd(verb, data, { by: SYS, at: ms });
const start = (safe = false) =>
  s(
    'start',
    {
      installationId: 'inst-a',
      instanceId: 'inst-2',
      crashes: [crash],
      safeMode: safe ? { reason: '3 crashes within 60 s', crashes: 3 } : null,
    },
    3_000,
  );
const detected = s('detected', { tmuxAlive: true, sessions: 2 });
const planned = (id: string, plan = 'reattach') => ({ terminalId: id, laneId: 'l1', plan, checkpointAt: at(500) });
const inventoried = s('inventoried', { terminals: [planned('t1'), planned('t2', 'respawn')] });
const back = (id: string, how = 'reattach') => s('terminalRestored', { terminalId: id, how });
const lost = (id: string) => s('terminalFailed', { terminalId: id, reason: 'cwd_missing: /w/gone' });
const restored = s('restored', { durationMs: 40 });
const reconciled = (needsReview: unknown[] = [], cleanup = noCleanup) =>
  s(
    'reconciled',
    { totalFound: needsReview.length + 1, safeToTerminate: [proc], needsReview, cleanup, durationMs: 9 },
    20_000,
  );
const failed = s('failed', { reason: 'the store went away' });

/** The history that reaches each in-progress stage. */
const upTo = {
  detecting: [start()],
  inventorying: [start(), detected],
  restoring: [start(), detected, inventoried],
  reconciling: [start(), detected, inventoried, back('t1'), back('t2', 'respawn'), restored],
} as const;
const live = [...upTo.reconciling, reconciled()];
const withReview = [...upTo.reconciling, reconciled([wt])];

describe('recovery: the stages in order', () => {
  it('start opens DETECTING with the crashes and safe mode it found', () =>
    given(recovery)
      .when(start(true))
      .then({
        state: 'detecting',
        context: { instanceId: 'inst-2', crashes: [crash], safeMode: { reason: '3 crashes within 60 s', crashes: 3 } },
      }));

  it('detected → INVENTORYING with what tmux kept; inventoried → RESTORING with the plan', () => {
    given(recovery, start())
      .when(detected)
      .then({ state: 'inventorying', context: { tmux: { alive: true, sessions: 2 } } });
    given(recovery, ...upTo.inventorying)
      .when(inventoried)
      .then({ state: 'restoring', context: { plan: [planned('t1'), planned('t2', 'respawn')], outcomes: {} } });
  });

  it('every terminal back and nothing to review: RECONCILING → LIVE with the seed’s result', () => {
    given(recovery, ...upTo.restoring, back('t1'))
      .when(back('t2', 'respawn'))
      .then('restoring');
    given(recovery, ...upTo.restoring, back('t1'), back('t2', 'respawn'))
      .when(restored)
      .then({ state: 'reconciling', context: { restoreMs: 40 } });
    const w = given(recovery, ...upTo.reconciling).when(reconciled());
    w.then({ state: 'live', context: { liveAt: at(20_000), orphans: { totalFound: 1, safeToTerminate: [proc] } } });
    const ctx = (w.decision as { next: AnyMachineSnapshot }).next.context as RecoveryContext;
    expect(recoveryResult(ctx)).toEqual({ restored: 1, respawned: 1, failed: [], durationMs: 17_000 });
  });

  it('the events carry their stage: the state after each one is in the envelope', () => {
    const w = given(recovery, ...upTo.reconciling).when(reconciled());
    expect(w.decision).toMatchObject({ event: { type: 'recovery.reconciled', state: 'live', seq: 7 } });
  });

  it('lanesChecked is recorded while RESTORING and does not move the stage', () =>
    given(recovery, ...upTo.restoring)
      .when(s('lanesChecked', { present: 2, missing: ['l3'] }))
      .then({ state: 'restoring', context: { lanes: { present: 2, missing: ['l3'] } } }));
});

describe('recovery: LIVE_WITH_ISSUES', () => {
  it('when a terminal failed: its reason is in the result', () => {
    const w = given(recovery, ...upTo.restoring, back('t1'), lost('t2'), restored).when(reconciled());
    w.then('liveWithIssues');
    const ctx = (w.decision as { next: AnyMachineSnapshot }).next.context as RecoveryContext;
    expect(recoveryResult(ctx).failed).toEqual([{ terminal: 't2', reason: 'cwd_missing: /w/gone' }]);
  });

  it('when an orphan needs review', () =>
    given(recovery, ...upTo.reconciling)
      .when(reconciled([wt]))
      .then({ state: 'liveWithIssues', context: { orphans: { needsReview: [wt] } } }));

  it('when an orphan could not be cleaned', () =>
    given(recovery, ...upTo.reconciling)
      .when(reconciled([], { ...noCleanup, failed: [{ id: 'process:77', reason: 'EPERM' }] }))
      .then('liveWithIssues'));
});

describe('recovery: refusals, with their reasons', () => {
  it('restored is refused until every planned terminal has an outcome', () => {
    given(recovery, ...upTo.restoring)
      .when(restored)
      .thenRejected('RECOVERY_TERMINALS_PENDING', 'recovery recovery-1 still waits for 2 terminals');
    given(recovery, ...upTo.restoring, back('t1'))
      .when(restored)
      .thenRejected('RECOVERY_TERMINALS_PENDING', /waits for 1 terminals/);
  });

  it('a second outcome for the same terminal, or one for a terminal not planned, is refused', () => {
    given(recovery, ...upTo.restoring, back('t1'))
      .when(lost('t1'))
      .thenRejected('RECOVERY_TERMINAL_SETTLED', /terminal t1 is not open/);
    given(recovery, ...upTo.restoring, lost('t2'))
      .when(back('t2', 'respawn'))
      .thenRejected('RECOVERY_TERMINAL_SETTLED');
    given(recovery, ...upTo.restoring)
      .when(back('t9'))
      .thenRejected('RECOVERY_TERMINAL_SETTLED');
  });

  it('a stage report out of order is refused: the run is still in an earlier stage', () => {
    given(recovery, start())
      .when(inventoried)
      .thenRejected('RECOVERY_IN_PROGRESS', /still detecting/);
    given(recovery, ...upTo.inventorying)
      .when(back('t1'))
      .thenRejected('RECOVERY_IN_PROGRESS');
    given(recovery, ...upTo.restoring)
      .when(reconciled())
      .thenRejected('RECOVERY_IN_PROGRESS');
  });

  it('nothing but the operator’s commands after LIVE or FAILED', () => {
    given(recovery, ...live)
      .when(failed)
      .thenRejected('RECOVERY_OVER', /is live; failed belongs to a run still in progress/);
    given(recovery, ...live)
      .when(back('t1'))
      .thenRejected('RECOVERY_OVER');
    given(recovery, start(), failed).when(detected).thenRejected('RECOVERY_FAILED');
    given(recovery, start(), failed)
      .when('resumed', { instanceId: 'i3', crashes: [], safeMode: null })
      .thenRejected('RECOVERY_FAILED');
  });

  it('a run starts once; nothing happens to a run that does not exist', () => {
    given(recovery, start()).when(start()).thenRejected('ALREADY_EXISTS');
    given(recovery).when(detected).thenRejected('NOT_FOUND');
  });
});

describe('recovery: FAILED from every stage in progress', () => {
  it.each(Object.entries(upTo))('from %s, with its reason', (_stage, history) =>
    given(recovery, ...history)
      .when(failed)
      .then({ state: 'failed', context: { failReason: 'the store went away' } }),
  );
});

describe('recovery: resume after a crash during the run', () => {
  const resumed = s(
    'resumed',
    { instanceId: 'inst-3', crashes: [{ ...crash, instanceId: 'inst-2' }], safeMode: null },
    30_000,
  );

  it.each(Object.entries(upTo))('in %s: the stage is kept and the new crash added', (stage, history) =>
    given(recovery, ...history)
      .when(resumed)
      .then({
        state: stage,
        context: { instanceId: 'inst-3', resumes: 1, crashes: [crash, { ...crash, instanceId: 'inst-2' }] },
      }),
  );

  it('a crash loop reached while the run was interrupted turns safe mode on from then on', () =>
    given(recovery, ...upTo.restoring)
      .when(
        s('resumed', { instanceId: 'inst-3', crashes: [], safeMode: { reason: '3 crashes within 60 s', crashes: 3 } }),
      )
      .then({ state: 'restoring', context: { safeMode: { reason: '3 crashes within 60 s', crashes: 3 } } }));

  it('reattached records every surviving terminal in one event, and only open, planned ones', () => {
    given(recovery, ...upTo.restoring)
      .when(s('reattached', { terminalIds: ['t1'] }))
      .then({ context: { outcomes: { t1: { result: 'reattached' } } } });
    given(recovery, ...upTo.restoring, back('t1'))
      .when(s('reattached', { terminalIds: ['t1'] }))
      .thenRejected('RECOVERY_TERMINAL_SETTLED', /t1/);
    given(recovery, ...upTo.restoring)
      .when(s('reattached', { terminalIds: ['t1', 'elsewhere'] }))
      .thenRejected('RECOVERY_TERMINAL_SETTLED');
  });

  it('in RESTORING: what is recorded stays, only what is open can be restored, then it goes on', () => {
    const h = [...upTo.restoring, back('t1'), resumed];
    given(recovery, ...h)
      .when(back('t1'))
      .thenRejected('RECOVERY_TERMINAL_SETTLED');
    given(recovery, ...h)
      .when(restored)
      .thenRejected('RECOVERY_TERMINALS_PENDING', /waits for 1 terminals/);
    given(recovery, ...h)
      .when(back('t2', 'respawn'))
      .then({ context: { outcomes: { t1: { result: 'reattached', at: at(10_000) }, t2: { result: 'respawned' } } } });
    given(recovery, ...h, back('t2', 'respawn'), restored, resumed)
      .when(reconciled())
      .then({
        state: 'live',
        context: { resumes: 2 },
      });
  });
});

describe('recovery: the operator’s commands', () => {
  it('dismiss: once, after the run is over (live, with issues, or failed)', () => {
    given(recovery, ...live)
      .when('dismiss', {}, { by: ANN, at: 30_000 })
      .then({ context: { dismissedAt: at(30_000) } });
    given(recovery, ...withReview)
      .when('dismiss', {}, { by: ANN })
      .then('liveWithIssues');
    given(recovery, start(), failed).when('dismiss', {}, { by: ANN }).then('failed');
    given(recovery, ...live, cmd('dismiss', {}, { by: ANN, at: 30_000 }))
      .when('dismiss', {}, { by: ANN })
      .thenRejected('RECOVERY_DISMISSED', `recovery recovery-1's summary was dismissed at ${at(30_000)}`);
    given(recovery, ...upTo.restoring)
      .when('dismiss', {}, { by: ANN })
      .thenRejected('RECOVERY_IN_PROGRESS');
  });

  it('leaveSafeMode: only in safe mode, in any stage, and once', () => {
    const leave = cmd('leaveSafeMode', { reason: 'disk fixed' }, { by: ANN, at: 40_000 });
    given(recovery, start(true))
      .when(leave)
      .then({
        state: 'detecting',
        context: { safeMode: { leftAt: at(40_000), leftBy: { kind: 'human', id: 'ann' }, leftReason: 'disk fixed' } },
      });
    given(recovery, start(true), failed).when(leave).then('failed');
    given(recovery, ...live)
      .when(leave)
      .thenRejected('NOT_IN_SAFE_MODE', /did not start tether in safe mode/);
    given(recovery, start(true), leave)
      .when(leave)
      .thenRejected('NOT_IN_SAFE_MODE', `recovery recovery-1 left safe mode at ${at(40_000)}`);
  });

  it('cleanReview: only while orphans wait for review; the state does not move until the worker reports', () => {
    const clean = cmd('cleanReview', { items: [wt.id], reason: 'old experiment' }, { by: ANN });
    given(recovery, ...withReview)
      .when(clean)
      .then({ state: 'liveWithIssues', context: { orphans: { needsReview: [wt] } } });
    given(recovery, ...withReview)
      .when('cleanReview', { reason: 'all' }, { by: ANN })
      .then('liveWithIssues');
    given(recovery, ...live)
      .when(clean)
      .thenRejected('NOTHING_TO_REVIEW', /has no orphans waiting for review/);
    given(recovery, ...upTo.reconciling)
      .when(clean)
      .thenRejected('RECOVERY_IN_PROGRESS');
    const cleaned = s('reviewCleaned', {
      items: [wt.id],
      cleanup: { terminated: 0, removed: 1, reviewPending: 0, failed: [] },
    });
    given(recovery, ...withReview, clean)
      .when(cleaned)
      .then({ context: { orphans: { needsReview: [], cleanup: { removed: 1 } } } });
    given(recovery, ...withReview, clean, cleaned)
      .when(clean)
      .thenRejected('NOTHING_TO_REVIEW');
  });
});

describe('recovery: model paths (xstate/graph)', () => {
  const ev = ({ verb, data, at: when, by }: Step): RecoveryEvent => {
    const [kind, id] = String(by).split(':');
    return { type: verb, data, at: when as string, actor: { kind, id } as Actor } as RecoveryEvent;
  };
  const atIso = (st: Step): Step => ({ ...st, at: typeof st.at === 'number' ? at(st.at) : st.at });
  const steps = [
    start(true),
    start(),
    s('resumed', { instanceId: 'inst-3', crashes: [], safeMode: null }),
    detected,
    inventoried,
    back('t1'),
    s('reattached', { terminalIds: ['t1'] }),
    back('t2', 'respawn'),
    lost('t2'),
    s('lanesChecked', { present: 1, missing: [] }),
    restored,
    reconciled(),
    reconciled([wt]),
    failed,
    cmd('dismiss', {}, { by: ANN }),
    cmd('leaveSafeMode', { reason: 'ok' }, { by: ANN }),
    cmd('cleanReview', { reason: 'ok' }, { by: ANN }),
    s('reviewCleaned', { items: [wt.id], cleanup: noCleanup }),
  ].map(atIso);
  const events = steps.map(ev);
  /** States told apart by stage and what the operator sees, not by counters that grow for ever (resumes). */
  const serializeState = (snap: unknown) => {
    const { value, context } = snap as AnyMachineSnapshot;
    const c = context as RecoveryContext;
    return JSON.stringify([
      value,
      Object.entries(c.outcomes).map(([t, o]) => `${t}:${o.result}`),
      c.safeMode ? (c.safeMode.leftAt ? 'left' : 'safe') : 'normal',
      c.dismissedAt !== undefined,
      c.orphans?.needsReview.length ?? null,
    ]);
  };
  const model = createTestModel(recoveryMachine, { events, serializeState });
  const stepsOf = (p: { steps: { event: { type: string } }[] }) =>
    p.steps.filter((x) => x.event.type !== 'xstate.init').map((x) => steps[events.indexOf(x.event as RecoveryEvent)]!);
  const stages = (p: { steps: { state: { value: unknown } }[] }) =>
    p.steps.map((x) => String(x.state.value)).filter((v, i, all) => v !== all[i - 1]);

  it('models every event the machine takes', () =>
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      [...recoveryMachine.events].filter((t) => !t.startsWith('xstate.')).sort(),
    ));

  it('every state is reached, along paths decide() accepts step by step', () => {
    const paths = model.getShortestPaths();
    const visited = new Set(paths.flatMap((p) => p.steps.map((x) => String(x.state.value))));
    expect([...visited].sort()).toEqual(Object.keys(recoveryMachine.root.states).sort());
    for (const p of paths) expect(given(recovery, ...stepsOf(p)).state.snapshot.value).toEqual(p.state.value);
  });

  it('every simple path to LIVE or LIVE_WITH_ISSUES goes through the stages in order, each once', () => {
    const ends = model.getSimplePaths().filter((p) => p.state.value === 'live' || p.state.value === 'liveWithIssues');
    expect(ends.length).toBeGreaterThan(10);
    for (const p of ends) {
      expect(stages(p)).toEqual(['absent', 'detecting', 'inventorying', 'restoring', 'reconciling', p.state.value]);
      const c = p.state.context as RecoveryContext;
      // Never live with a terminal left without an outcome; with issues exactly when one failed or needs review.
      expect(c.plan.every((t) => c.outcomes[t.terminalId])).toBe(true);
      const issues =
        Object.values(c.outcomes).some((o) => o.result === 'failed') || (c.orphans?.needsReview.length ?? 0) > 0;
      const reviewedAway = stepsOf(p).some((x) => x.verb === 'reviewCleaned');
      if (!reviewedAway) expect(p.state.value).toBe(issues ? 'liveWithIssues' : 'live');
    }
  });

  it('every simple path to FAILED fails from a stage in progress, and a failed run never goes live', () => {
    const toFailed = model.getSimplePaths().filter((p) => p.state.value === 'failed');
    const from = new Set(toFailed.map((p) => stages(p).at(-2)));
    expect([...from].sort()).toEqual(['detecting', 'inventorying', 'reconciling', 'restoring']);
    for (const p of model.getSimplePaths()) {
      const seen = stages(p);
      if (seen.includes('failed')) expect(seen.at(-1)).toBe('failed');
    }
  });
});
