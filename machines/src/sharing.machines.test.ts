import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { approvalDeadlines, approvalMachine, explainApproval } from './approval.machine.ts';
import { explainShare, shareDeadlines, shareMachine, type ShareContext } from './share.machine.ts';
import { explainTerminal, terminalMachine } from './terminal.machine.ts';

const owner = { kind: 'human' as const, id: 'alice' };
const t0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms = 0) => new Date(t0 + ms).toISOString();
const MIN = 60_000;
type E = {
  type: string;
  data?: Record<string, unknown>;
  ms?: number;
  actor?: { kind: 'human' | 'ai' | 'system' | 'service'; id: string };
};
// Events are built loosely on purpose: the tests also feed events a machine must refuse.
const ev = (e: E) => ({ type: e.type, data: e.data ?? {}, at: at(e.ms), actor: e.actor ?? owner }) as never;

function run(machine: AnyStateMachine, events: E[]): AnyMachineSnapshot {
  let s = initialTransition(machine)[0] as AnyMachineSnapshot;
  for (const e of events) {
    if (!s.can(ev(e))) throw new Error(`${e.type} refused in ${JSON.stringify(s.value)}`);
    s = transition(machine, s, ev(e))[0] as AnyMachineSnapshot;
  }
  return s;
}
const can = (s: AnyMachineSnapshot, e: E) => s.can(ev(e));

const request = (effect: 'allow' | 'approval' | 'deny', access: 'read' | 'write' = 'write'): E => ({
  type: 'request',
  data: {
    terminalId: 't1',
    laneId: 'l1',
    backend: 'native',
    access,
    ttlMs: 30 * MIN,
    maxTtlMs: 240 * MIN,
    warnBeforeMs: 5 * MIN,
    policy: { effect, ruleId: 'r1', reason: 'because' },
  },
});
const hash = 'a'.repeat(64);
const active = [
  request('allow'),
  { type: 'started', data: {} },
  { type: 'invite', data: { participantId: 'p1', name: 'bob', tokenHash: hash } },
];

describe('share machine', () => {
  it('allowed: starting → active → expiring (warn) → ended (expired), with durable deadlines in context', () => {
    let s = run(shareMachine, active);
    expect(s.value).toBe('active');
    const c = s.context as ShareContext;
    expect(c.expiresAt).toBe(at(30 * MIN));
    expect(shareDeadlines(s.value, c)).toEqual([
      { verb: 'expire', at: at(30 * MIN) },
      { verb: 'warn', at: at(25 * MIN) },
    ]);
    expect(can(s, { type: 'warn', ms: 24 * MIN })).toBe(false);
    s = run(shareMachine, [...active, { type: 'warn', ms: 25 * MIN, actor: { kind: 'system', id: 'timer' } }]);
    expect(s.value).toBe('expiring');
    expect(can(s, { type: 'expire', ms: 29 * MIN })).toBe(false);
    s = run(shareMachine, [...active, { type: 'warn', ms: 25 * MIN }, { type: 'expire', ms: 30 * MIN }]);
    expect(s.value).toBe('ended');
    expect((s.context as ShareContext).endReason).toBe('expired');
  });

  it('extensions keep the whole life within the maximum, counted from when the clock started', () => {
    const long = run(shareMachine, [...active, { type: 'extend', data: { ttlMs: 200 * MIN }, ms: MIN }]);
    expect((long.context as ShareContext).expiresAt).toBe(at(230 * MIN));
    // At 200 min only 30 min are left, yet 20 more would make 250 min in all: refused.
    expect(can(long, { type: 'extend', data: { ttlMs: 20 * MIN }, ms: 200 * MIN })).toBe(false);
    expect(
      explainShare('s1', long.value, long.context, ev({ type: 'extend', data: { ttlMs: 20 * MIN }, ms: 200 * MIN }))
        ?.message,
    ).toMatch(/at most 240 min in all .* at most 600 s/);
    expect(can(long, { type: 'extend', data: { ttlMs: 10 * MIN }, ms: 200 * MIN })).toBe(true);
  });

  it('a share that starts inside its grace period is warned through a due warn deadline, not silently', () => {
    const short = { ...request('allow'), data: { ...request('allow').data, ttlMs: 3 * MIN } };
    const s = run(shareMachine, [short, { type: 'started', data: {} }]);
    expect(s.value).toBe('active');
    expect(shareDeadlines(s.value, s.context)).toContainEqual({ verb: 'warn', at: at(-2 * MIN) });
    expect(
      run(shareMachine, [
        short,
        { type: 'started', data: {} },
        { type: 'warn', actor: { kind: 'system', id: 'timer' } },
      ]).value,
    ).toBe('expiring');
  });

  it('denied by policy: ends at once with the reason; approval: waits, then starts or ends denied', () => {
    const denied = run(shareMachine, [request('deny')]);
    expect(denied.value).toBe('ended');
    expect(denied.context).toMatchObject({ endReason: 'denied', endDetail: 'because' });
    const waiting = run(shareMachine, [request('approval')]);
    expect(waiting.value).toBe('awaitingApproval');
    expect(shareDeadlines(waiting.value, waiting.context)).toEqual([]);
    const approved = run(shareMachine, [
      request('approval'),
      { type: 'approved', data: { approvalId: 'a1', by: 'human:carol' }, ms: 10 * MIN },
    ]);
    expect(approved.value).toBe('starting');
    expect((approved.context as ShareContext).expiresAt).toBe(at(40 * MIN)); // the clock starts at approval
    const rejected = run(shareMachine, [
      request('approval'),
      { type: 'rejected', data: { approvalId: 'a1', reason: 'not today' } },
    ]);
    expect(rejected.context).toMatchObject({ endReason: 'denied', endDetail: 'not today' });
  });

  it('extend: owner only, within the maximum, and exactly one of extend/expire wins at the deadline', () => {
    const s = run(shareMachine, active);
    expect(can(s, { type: 'extend', data: { ttlMs: 10 * MIN }, actor: { kind: 'human', id: 'mallory' } })).toBe(false);
    expect(
      explainShare(
        's1',
        s.value,
        s.context,
        ev({ type: 'extend', data: { ttlMs: 1 }, actor: { kind: 'human', id: 'mallory' } }),
      )?.reason,
    ).toBe('SHARE_NOT_OWNER');
    expect(can(s, { type: 'extend', data: { ttlMs: 211 * MIN } })).toBe(false); // 30 + 211 > 240 left
    expect(explainShare('s1', s.value, s.context, ev({ type: 'extend', data: { ttlMs: 211 * MIN } }))?.reason).toBe(
      'SHARE_TTL_MAX',
    );
    const longer = run(shareMachine, [...active, { type: 'extend', data: { ttlMs: 10 * MIN }, ms: MIN }]);
    expect((longer.context as ShareContext).expiresAt).toBe(at(40 * MIN));
    // At the deadline the extend is refused (expired) and the expiry is accepted; before it, the reverse.
    expect(can(s, { type: 'extend', data: { ttlMs: MIN }, ms: 30 * MIN })).toBe(false);
    expect(
      explainShare('s1', s.value, s.context, ev({ type: 'extend', data: { ttlMs: MIN }, ms: 30 * MIN }))?.reason,
    ).toBe('SHARE_EXPIRED');
    expect(can(s, { type: 'expire', ms: 30 * MIN })).toBe(true);
    expect(can(longer, { type: 'expire', ms: 30 * MIN })).toBe(false);
    const ended = run(shareMachine, [...active, { type: 'expire', ms: 30 * MIN }]);
    expect(
      explainShare('s1', ended.value, ended.context, ev({ type: 'extend', data: { ttlMs: MIN } }))?.message,
    ).toMatch(/expired at .*extend is not possible, create a new share/);
  });

  it('extending in the grace period returns to active and re-arms the warning', () => {
    const s = run(shareMachine, [
      ...active,
      { type: 'warn', ms: 26 * MIN },
      { type: 'extend', data: { ttlMs: 30 * MIN }, ms: 27 * MIN },
    ]);
    expect(s.value).toBe('active');
    expect((s.context as ShareContext).warnAt).toBe(at(55 * MIN));
  });

  it('participants: invite read-only, join/leave, write grants with expiry, kick; read-only shares refuse grants', () => {
    let s = run(shareMachine, [
      ...active,
      { type: 'joined', data: { participantId: 'p1', via: 'browser' } },
      { type: 'grantWrite', data: { participantId: 'p1', ttlMs: 5 * MIN }, ms: MIN },
    ]);
    let p = (s.context as ShareContext).participants.p1!;
    expect(p).toMatchObject({ access: 'write', connections: 1, writeUntil: at(6 * MIN) });
    expect(shareDeadlines(s.value, s.context)).toContainEqual({ verb: 'writeExpired', at: at(6 * MIN) });
    expect(can(s, { type: 'writeExpired', ms: 5 * MIN })).toBe(false);
    s = transition(shareMachine, s, ev({ type: 'writeExpired', ms: 6 * MIN }))[0] as AnyMachineSnapshot;
    expect((s.context as ShareContext).participants.p1!.access).toBe('read');
    s = transition(shareMachine, s, ev({ type: 'kick', data: { participantId: 'p1' } }))[0] as AnyMachineSnapshot;
    p = (s.context as ShareContext).participants.p1!;
    expect(p).toMatchObject({ kicked: true, connections: 0 });
    expect(can(s, { type: 'joined', data: { participantId: 'p1', via: 'cli' } })).toBe(false);
    expect(
      explainShare('s1', s.value, s.context, ev({ type: 'grantWrite', data: { participantId: 'p1', ttlMs: 1 } }))
        ?.reason,
    ).toBe('PARTICIPANT_KICKED');
    expect(can(s, { type: 'grantWrite', data: { participantId: 'nobody', ttlMs: MIN } })).toBe(false);
    const ro = run(shareMachine, [
      request('allow', 'read'),
      { type: 'started', data: {} },
      { type: 'invite', data: { participantId: 'p1', name: 'bob', tokenHash: hash } },
    ]);
    expect(can(ro, { type: 'grantWrite', data: { participantId: 'p1', ttlMs: MIN } })).toBe(false);
    expect(
      explainShare('s1', ro.value, ro.context, ev({ type: 'grantWrite', data: { participantId: 'p1', ttlMs: MIN } }))
        ?.reason,
    ).toBe('SHARE_READ_ONLY');
  });

  it('ends revoked (owner or a human operator, not an ai), terminated, failed or switched; an ended share takes nothing', () => {
    const ai = { kind: 'ai' as const, id: 'agent' };
    const s = run(shareMachine, active);
    expect(can(s, { type: 'revoke', data: {}, actor: ai })).toBe(false);
    expect(can(s, { type: 'revoke', data: {}, actor: { kind: 'human', id: 'ops' } })).toBe(true);
    for (const [type, data, reason] of [
      ['revoke', { reason: 'done' }, 'revoked'],
      ['terminate', { reason: 'terminal closed' }, 'terminated'],
      ['failed', { reason: 'worker exited' }, 'failed'],
      ['switch', { toShareId: 's2' }, 'switched'],
    ] as const) {
      const e = run(shareMachine, [...active, { type, data }]);
      expect(e.value).toBe('ended');
      expect((e.context as ShareContext).endReason).toBe(reason);
      expect(can(e, { type: 'extend', data: { ttlMs: MIN } })).toBe(false);
      expect(shareDeadlines(e.value, e.context)).toEqual([]);
    }
  });
});

describe('approval machine', () => {
  const req: E = {
    type: 'request',
    actor: owner,
    data: { shareId: 's1', requestedBy: owner, ruleId: 'r', reason: 'needs approval', timeoutMs: 15 * MIN },
  };
  it('pending → approved by another human; the requester and non-humans cannot decide', () => {
    const s = run(approvalMachine, [req]);
    expect(approvalDeadlines(s.value, s.context)).toEqual([{ verb: 'expire', at: at(15 * MIN) }]);
    expect(can(s, { type: 'approve', data: {}, actor: owner })).toBe(false);
    expect(explainApproval('a1', s.value, s.context, ev({ type: 'approve', actor: owner }))?.reason).toBe(
      'APPROVER_IS_REQUESTER',
    );
    expect(can(s, { type: 'approve', data: {}, actor: { kind: 'ai', id: 'x' } })).toBe(false);
    const ok = run(approvalMachine, [
      req,
      { type: 'approve', data: { note: 'fine' }, actor: { kind: 'human', id: 'carol' } },
    ]);
    expect(ok.value).toBe('approved');
    expect(ok.context).toMatchObject({ decidedBy: 'human:carol', note: 'fine' });
    expect(
      run(approvalMachine, [req, { type: 'deny', data: { reason: 'no' }, actor: { kind: 'human', id: 'carol' } }])
        .value,
    ).toBe('denied');
    expect(run(approvalMachine, [req, { type: 'expire', ms: 15 * MIN }]).value).toBe('expired');
  });
});

describe('terminal share slots', () => {
  it('holds at most `limit` shares; the next is refused with the reason', () => {
    let s = run(terminalMachine, [
      { type: 'spawn', data: { laneId: 'l', sessionId: 's' } },
      { type: 'started', data: { tmuxSession: 't', panePid: 9 } },
    ]);
    for (const id of ['a', 'b', 'c'])
      s = transition(
        terminalMachine,
        s,
        ev({ type: 'shareOpen', data: { shareId: id, limit: 3 } }),
      )[0] as AnyMachineSnapshot;
    const fourth = { type: 'shareOpen', data: { shareId: 'd', limit: 3 } };
    expect(can(s, fourth)).toBe(false);
    expect(explainTerminal('t1', s.value, s.context, ev(fourth))?.message).toMatch(
      /3 active shares \(a, b, c\), the limit is 3/,
    );
    s = transition(terminalMachine, s, ev({ type: 'shareClose', data: { shareId: 'b' } }))[0] as AnyMachineSnapshot;
    expect(can(s, fourth)).toBe(true);
  });
});
