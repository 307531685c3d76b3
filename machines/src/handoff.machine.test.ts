import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { createTestModel } from 'xstate/graph';
import type { Actor } from '@tether/contracts';
import { handoffMachine, type HandoffEvent } from './handoff.machine.ts';
import { handoff, terminal } from './index.ts';
import { at, cmd, given, MIN, type Step } from './testing/index.ts';

// Human → AI: ann (human) hands terminal t1 to ai:codex. The approver is carol.
const ANN = 'human:ann';
const CODEX = 'ai:codex';
const request = (effect: 'allow' | 'approval' | 'deny', by: Step['by'] = ANN, to = { kind: 'ai', id: 'codex' }) =>
  cmd(
    'request',
    {
      terminalId: 't1',
      laneId: 'l1',
      to,
      fromSessionId: 's-ann',
      toSessionId: 'hs-1',
      note: 'take over the build',
      policy: { effect, ruleId: 'r1', reason: `policy says ${effect}` },
      offerTtlMs: 10 * MIN,
      correlationId: 'corr-1',
    },
    { by },
  );
const captured = {
  context: {
    cwd: '/w/l1/src',
    env: { names: ['HOME', 'PATH'], sealedRef: 'handoffs/h1.env.sealed' },
    scrollback: { ref: 'handoffs/h1.scrollback', offset: 120, bytes: 120, sha256: 'a'.repeat(64) },
    git: {
      branch: 'tether/l1',
      base: 'main',
      ahead: 1,
      behind: 0,
      staged: 0,
      unstaged: 2,
      untracked: 1,
      conflicted: 0,
    },
    correlationId: 'corr-1',
    capturedAt: at(0),
  },
};
const initiated = cmd('initiated', captured, { by: 'system:worker', at: MIN });
const offered = [request('allow'), initiated];
const accepted = [...offered, cmd('accept', {}, { by: CODEX, at: 2 * MIN })];
const completed = cmd(
  'completed',
  { terminalId: 't1', fromSessionId: 's-ann', toSessionId: 'hs-1' },
  { by: 'system:t' },
);

describe('handoff: policy and approval', () => {
  const capturedIn = (d: ReturnType<ReturnType<typeof given>['when']>['decision']) =>
    'next' in d ? (d.next.context as { context?: unknown }).context : 'refused';

  it('allowed: requested (its context is being captured), nothing captured yet', () => {
    const w = given(handoff).when(request('allow'));
    w.then({ state: 'requested', context: { from: { kind: 'human', id: 'ann' } } });
    expect(capturedIn(w.decision)).toBeUndefined();
  });

  it('held by a rule: awaits an operator, then goes on when approved', () => {
    given(handoff).when(request('approval')).then('awaitingApproval');
    given(handoff, request('approval'))
      .when('approved', { approvalId: 'h1', by: 'human:carol' })
      .then({ state: 'requested', context: { approvalId: 'h1', approvedBy: 'human:carol' } });
  });

  it('denied by the policy: ends at once with its reason, nothing captured', () => {
    const w = given(handoff).when(request('deny'));
    w.then({
      state: 'denied',
      final: true,
      context: { end: 'denied', endReason: 'policy says deny', endedBy: 'policy' },
    });
    expect(capturedIn(w.decision)).toBeUndefined();
  });

  it('denied by an operator: ends with who and why', () =>
    given(handoff, request('approval'))
      .when('denied', { approvalId: 'h1', reason: 'denied by human:carol: not during the release' })
      .then({ state: 'denied', context: { endReason: 'denied by human:carol: not during the release' } }));

  it('nobody hands a terminal to themselves', () =>
    given(handoff)
      .when(request('allow', 'ai:codex'))
      .thenRejected('HANDOFF_TO_SELF', /cannot hand terminal t1 to themselves/));

  it('waiting for approval or for its capture, it cannot be accepted yet', () => {
    given(handoff, request('approval')).when('accept', {}, { by: CODEX }).thenRejected('HANDOFF_AWAITING_APPROVAL');
    given(handoff, request('allow')).when('accept', {}, { by: CODEX }).thenRejected('HANDOFF_NOT_OFFERED');
  });
});

describe('handoff: offer, accept, transfer', () => {
  it('initiated: the captured context is kept and the offer expires after its TTL', () =>
    given(handoff, request('allow'))
      .when(initiated)
      .then({
        state: 'offered',
        context: { context: captured.context, offerExpiresAt: at(11 * MIN) },
        deadlines: [{ verb: 'expire', at: at(11 * MIN) }],
      }));

  it('only the receiver accepts', () => {
    given(handoff, ...offered)
      .when('accept', {}, { by: 'human:bob' })
      .thenRejected('HANDOFF_NOT_RECEIVER', /only the receiver .* \(ai:codex\) may accept it; human:bob may not/);
    given(handoff, ...offered)
      .when('accept', {}, { by: ANN })
      .thenRejected('HANDOFF_NOT_RECEIVER');
    given(handoff, ...offered)
      .when('accept', {}, { by: CODEX })
      .then({ state: 'transferring', context: { toSessionId: 'hs-1' }, deadlines: [] });
  });

  it('the receiver may type as a session of its own, never as the giver', () => {
    given(handoff, ...offered)
      .when('accept', { sessionId: 's-codex' }, { by: CODEX })
      .then({ context: { toSessionId: 's-codex' } });
    given(handoff, ...offered)
      .when('accept', { sessionId: 's-ann' }, { by: CODEX })
      .thenRejected('HANDOFF_SAME_WRITER');
  });

  it("completes on the terminal's report of exactly this transfer", () => {
    given(handoff, ...accepted)
      .when(cmd('completed', { terminalId: 't1', fromSessionId: 's-ann', toSessionId: 'other' }))
      .thenRejected('HANDOFF_TRANSFER_MISMATCH');
    given(handoff, ...accepted)
      .when(completed)
      .then({ state: 'completed', final: true, context: { end: 'completed', completedAt: at(0) } });
  });

  it('a completed handoff takes nothing more', () =>
    given(handoff, ...accepted, completed)
      .when('cancel', {}, { by: ANN })
      .thenRejected('HANDOFF_COMPLETED', /request a new handoff/));

  it('AI → human: an agent asks for a person, who accepts', () =>
    given(handoff, request('allow', CODEX, { kind: 'human', id: 'alice' }), initiated)
      .when('accept', {}, { by: 'human:alice' })
      .then({ state: 'transferring', context: { from: { kind: 'ai', id: 'codex' } } }));
});

describe('handoff: cancel, expiry, failure', () => {
  it('either party cancels before the transfer; nobody else does', () => {
    given(handoff, ...offered)
      .when('cancel', {}, { by: CODEX })
      .then({ state: 'cancelled', context: { endReason: 'cancelled by ai:codex' } });
    given(handoff, request('approval'))
      .when('cancel', { reason: 'changed my mind' }, { by: ANN })
      .then({ state: 'cancelled', context: { endReason: 'changed my mind' } });
    given(handoff, ...offered)
      .when('cancel', {}, { by: 'human:mallory' })
      .thenRejected('HANDOFF_NOT_PARTY');
    given(handoff, ...accepted)
      .when('cancel', {}, { by: ANN })
      .thenRejected('HANDOFF_TRANSFERRING');
  });

  it('an offer nobody accepts expires at its deadline, not before', () => {
    given(handoff, ...offered)
      .when('expire', {}, { at: 10 * MIN, by: 'system:timer' })
      .thenRejected('HANDOFF_NOT_DUE');
    given(handoff, ...offered)
      .when('expire', {}, { at: 11 * MIN, by: 'system:timer' })
      .then({ state: 'cancelled', context: { endReason: 'nobody accepted the offer in time' } });
  });

  it('fails with its reason in any live state (terminal busy, closed, capture failed)', () => {
    for (const history of [[request('approval')], [request('allow')], offered, accepted])
      given(handoff, ...history)
        .when('failed', { reason: 'terminal t1 is being handed over by handoff h0' })
        .then({ state: 'failed', context: { endReason: 'terminal t1 is being handed over by handoff h0' } });
  });
});

describe('terminal: one handoff at a time, and the handover', () => {
  const active = [cmd('spawn', { laneId: 'l1', sessionId: 's-ann' }), cmd('started', { tmuxSession: 't', panePid: 9 })];
  const claim = (id: string) => cmd('handoffClaim', { handoffId: id });
  const handover = (id: string, from = 's-ann') =>
    cmd('handover', { handoffId: id, fromSessionId: from, toSessionId: 'hs-1' }, { at: MIN });

  it('a second handoff loses the race for the terminal', () => {
    given(terminal, ...active)
      .when(claim('h1'))
      .then({ context: { handoffId: 'h1' } });
    given(terminal, ...active, claim('h1'))
      .when(claim('h2'))
      .thenRejected('TERMINAL_HANDOFF_IN_PROGRESS', /handed over by handoff h1/);
    given(terminal, ...active, claim('h1'), cmd('handoffRelease', { handoffId: 'h1' }))
      .when(claim('h2'))
      .then({ context: { handoffId: 'h2' } });
  });

  it('only the claiming handoff releases or hands over', () => {
    given(terminal, ...active, claim('h1'))
      .when(cmd('handoffRelease', { handoffId: 'h2' }))
      .thenRejected('TERMINAL_NOT_CLAIMED');
    given(terminal, ...active, claim('h1'))
      .when(handover('h2'))
      .thenRejected('TERMINAL_NOT_CLAIMED');
  });

  it('the writer changes; the giver watches; the claim is free again', () =>
    given(terminal, ...active, claim('h1'))
      .when(handover('h1'))
      .then({
        state: 'active',
        context: { sessionId: 'hs-1', watchers: ['s-ann'], handoffId: undefined, handedOverAt: at(MIN) },
      }));

  it('a handover from a session that no longer writes is refused', () =>
    given(terminal, ...active, claim('h1'))
      .when(handover('h1', 's-someone'))
      .thenRejected('TERMINAL_WRITER_CHANGED'));
});

describe('handoff: model paths (xstate/graph)', () => {
  const A: Actor = { kind: 'human', id: 'ann' };
  const X: Actor = { kind: 'ai', id: 'codex' };
  const sys: Actor = { kind: 'system', id: 'worker' };
  const ev = (type: string, data: Record<string, unknown>, actor: Actor = sys, ms = 0) =>
    ({ type, data, actor, at: at(ms) }) as HandoffEvent;
  const req = (effect: string) => ({
    ...request(effect as 'allow').data,
    policy: { effect, ruleId: 'r', reason: effect },
  });
  const events = [
    ev('request', req('allow'), A),
    ev('request', req('approval'), A),
    ev('request', req('deny'), A),
    ev('approved', { approvalId: 'h1', by: 'human:carol' }),
    ev('denied', { approvalId: 'h1', reason: 'no' }),
    ev('initiated', captured),
    ev('accept', {}, X),
    ev('completed', completed.data!),
    ev('cancel', {}, A),
    ev('expire', {}, sys, 24 * 60 * MIN),
    ev('failed', { reason: 'terminal closed' }),
  ];
  const model = createTestModel(handoffMachine, {
    events,
    serializeState: (s) => JSON.stringify((s as AnyMachineSnapshot).value),
  });
  const paths = model.getShortestPaths();

  it('models every event the machine takes', () =>
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      [...handoffMachine.events].filter((t) => !t.startsWith('xstate.')).sort(),
    ));

  it('reaches every state, each end through accepted events only', () => {
    const visited = new Set(paths.flatMap((p) => p.steps.map((s) => JSON.stringify(s.state.value))));
    expect([...visited].sort()).toEqual(
      Object.keys(handoffMachine.root.states)
        .map((s) => JSON.stringify(s))
        .sort(),
    );
    for (const p of paths) {
      let s = initialTransition(handoffMachine)[0] as AnyMachineSnapshot;
      for (const st of p.steps.filter((x) => (x.event.type as string) !== 'xstate.init')) {
        expect(s.can(st.event)).toBe(true);
        s = transition(handoffMachine, s, st.event as HandoffEvent)[0] as AnyMachineSnapshot;
      }
      expect(s.value).toEqual(p.state.value);
    }
  });

  it('no path captures a context for a handoff that was denied', () => {
    for (const p of paths.filter((x) => x.state.value === 'denied'))
      expect((p.state.context as { context?: unknown }).context).toBeUndefined();
  });

  it('every completed path went through offered, with a context, and an accept by the receiver', () => {
    const done = paths.filter((p) => p.state.value === 'completed');
    expect(done.length).toBeGreaterThan(0);
    for (const p of done) {
      const types = p.steps.map((s) => s.event.type);
      expect(types).toEqual(expect.arrayContaining(['initiated', 'accept', 'completed']));
      expect((p.state.context as { context?: unknown }).context).toBeDefined();
    }
  });
});
