import { describe, it } from 'vitest';
import { approval, share, terminal } from './index.ts';
import { at, cmd, given, MIN, type Step } from './testing/index.ts';

const request = (effect: 'allow' | 'approval' | 'deny', access = 'write', ttlMs = 30 * MIN): Step =>
  cmd('request', {
    ...{ terminalId: 't1', laneId: 'l1', backend: 'native', access, ttlMs },
    ...{ maxTtlMs: 240 * MIN, warnBeforeMs: 5 * MIN, policy: { effect, ruleId: 'r1', reason: 'because' } },
  });
const invite = cmd('invite', { participantId: 'p1', name: 'bob', tokenHash: 'a'.repeat(64) });
const active = [request('allow'), 'started', invite];
const extend = (min: number, ms = 0, by?: Step['by']) => cmd('extend', { ttlMs: min * MIN }, { at: ms, by });
const p1 = (verb: string, data = {}, ms = 0) => cmd(verb, { participantId: 'p1', ...data }, { at: ms });
const granted = [...active, p1('joined', { via: 'browser' }), p1('grantWrite', { ttlMs: 5 * MIN }, MIN)];

describe('share: its clock', () => {
  it('an allowed share starts, with durable expire and warn deadlines', () =>
    given(share, request('allow'))
      .when('started')
      .then({
        state: 'active',
        deadlines: [
          { verb: 'expire', at: at(30 * MIN) },
          { verb: 'warn', at: at(25 * MIN) },
        ],
      }));

  it('warns at the warn deadline, not before', () => {
    given(share, ...active)
      .when('warn', {}, { at: 24 * MIN })
      .thenRejected('SHARE_WARN_NOT_DUE');
    given(share, ...active)
      .when('warn', {}, { at: 25 * MIN, by: 'system:timer' })
      .then('expiring');
  });

  it('expires at its deadline, not before', () => {
    const expiring = [...active, cmd('warn', {}, { at: 25 * MIN })];
    given(share, ...expiring)
      .when('expire', {}, { at: 29 * MIN })
      .thenRejected('SHARE_NOT_DUE');
    given(share, ...expiring)
      .when('expire', {}, { at: 30 * MIN })
      .then({ state: 'ended', context: { endReason: 'expired' } });
  });

  it('a share that starts inside its grace period is warned through a due warn deadline', () => {
    const short = request('allow', 'write', 3 * MIN);
    given(share, short)
      .when('started')
      .then({
        deadlines: [
          { verb: 'expire', at: at(3 * MIN) },
          { verb: 'warn', at: at(-2 * MIN) },
        ],
      });
    given(share, short, 'started').when('warn', {}, { by: 'system:timer' }).then('expiring');
  });
});

describe('share: policy and approval', () => {
  it('denied by policy: ends at once with the reason', () =>
    given(share)
      .when(request('deny'))
      .then({ state: 'ended', context: { endReason: 'denied', endDetail: 'because' } }));

  it('approval: waits without deadlines', () =>
    given(share).when(request('approval')).then({ state: 'awaitingApproval', deadlines: [] }));

  it('approved: starts, its clock from the approval', () =>
    given(share, request('approval'))
      .when('approved', { approvalId: 'a1', by: 'human:carol' }, { at: 10 * MIN })
      .then({ state: 'starting', context: { expiresAt: at(40 * MIN) } }));

  it('rejected: ends denied with the reason', () =>
    given(share, request('approval'))
      .when('rejected', { approvalId: 'a1', reason: 'not today' })
      .then({ context: { endReason: 'denied', endDetail: 'not today' } }));

  it('waiting for approval, it cannot be extended or joined yet', () => {
    given(share, request('approval'))
      .when(extend(1))
      .thenRejected('SHARE_NOT_ACTIVE', /extend it once it is active/);
    given(share, request('approval'))
      .when(p1('joined', { via: 'cli' }))
      .thenRejected('SHARE_NOT_STARTED');
    given(share, request('approval'))
      .when('started')
      .thenRejected('SHARE_AWAITING_APPROVAL', /waits for approval/);
  });
});

describe('share: extend', () => {
  it('the owner extends it from its expiry', () =>
    given(share, ...active)
      .when(extend(10, MIN))
      .then({ context: { expiresAt: at(40 * MIN), extensions: 1 } }));

  // Who may extend (the owner or an operator) is the authorization table's (contracts/src/authorization.test.ts).
  it('records who extended it', () =>
    given(share, ...active)
      .when(extend(10, 0, 'human:ops'))
      .then({ context: { extensions: 1 } }));

  it('the whole life stays within the maximum, counted from when the clock started', () => {
    const long = [...active, extend(200, MIN)];
    given(share, ...long)
      .when(extend(20, 200 * MIN))
      .thenRejected('SHARE_TTL_MAX', /at most 240 min in all .* at most 600 s/);
    given(share, ...long)
      .when(extend(10, 200 * MIN))
      .then({ context: { expiresAt: at(240 * MIN) } });
    given(share, ...active)
      .when(extend(211))
      .thenRejected('SHARE_TTL_MAX');
  });

  it('at the deadline exactly one of extend and expire wins', () => {
    given(share, ...active)
      .when(extend(1, 30 * MIN))
      .thenRejected('SHARE_EXPIRED', /create a new share/);
    given(share, ...active)
      .when('expire', {}, { at: 30 * MIN })
      .then('ended');
    given(share, ...active, extend(10, MIN))
      .when('expire', {}, { at: 30 * MIN })
      .thenRejected('SHARE_NOT_DUE');
  });

  it('a share not started yet cannot be extended', () =>
    given(share, request('allow'))
      .when(extend(1))
      .thenRejected('SHARE_NOT_ACTIVE', /is starting; extend it once/));

  it('an expired share says so', () =>
    given(share, ...active, cmd('expire', {}, { at: 30 * MIN }))
      .when(extend(1))
      .thenRejected('SHARE_EXPIRED', /expired at .*extend is not possible, create a new share/));

  it('extending in the grace period returns to active and re-arms the warning', () =>
    given(share, ...active, cmd('warn', {}, { at: 26 * MIN }))
      .when(extend(30, 27 * MIN))
      .then({ state: 'active', context: { warnAt: at(55 * MIN) } }));
});

describe('share: participants', () => {
  it('an invited participant is read-only until granted', () =>
    given(share, request('allow'), 'started')
      .when(invite)
      .then({ context: { participants: { p1: { access: 'read', connections: 0 } } } }));

  it('a name already in the share gets the first free suffix, kicked participants included', () => {
    const bob = (id: string) => cmd('invite', { participantId: id, name: 'bob', tokenHash: 'b'.repeat(64) });
    given(share, ...active)
      .when(bob('p2'))
      .then({ context: { participants: { p1: { name: 'bob' }, p2: { name: 'bob-2' } } } });
    given(share, ...active, p1('kick'), bob('p2'))
      .when(bob('p3'))
      .then({
        context: { participants: { p1: { name: 'bob', kicked: true }, p2: { name: 'bob-2' }, p3: { name: 'bob-3' } } },
      });
    given(share, ...active, cmd('invite', { participantId: 'p2', name: 'bob-2', tokenHash: 'c'.repeat(64) }))
      .when(bob('p3'))
      .then({ context: { participants: { p3: { name: 'bob-3' } } } });
  });

  it('an id is invited once', () =>
    given(share, ...active)
      .when(invite)
      .thenRejected('PARTICIPANT_EXISTS'));

  it('a write grant has an expiry, kept as a deadline', () =>
    given(share, ...granted.slice(0, -1))
      .when(granted.at(-1)!)
      .then({
        context: { participants: { p1: { access: 'write', connections: 1, writeUntil: at(6 * MIN) } } },
        deadlines: [
          { verb: 'expire', at: at(30 * MIN) },
          { verb: 'warn', at: at(25 * MIN) },
          { verb: 'writeExpired', at: at(6 * MIN) },
        ],
      }));

  it('the grant lapses at its deadline, not before', () => {
    given(share, ...granted)
      .when('writeExpired', {}, { at: 5 * MIN })
      .thenRejected('GRANT_NOT_DUE');
    given(share, ...granted)
      .when('writeExpired', {}, { at: 6 * MIN })
      .then({ context: { participants: { p1: { access: 'read' } } } });
  });

  it('revokeWrite takes a grant back; without one it is refused', () => {
    given(share, ...granted)
      .when(p1('revokeWrite'))
      .then({ context: { participants: { p1: { access: 'read', writeUntil: undefined } } } });
    given(share, ...active)
      .when(p1('revokeWrite'))
      .thenRejected('PARTICIPANT_READ_ONLY');
  });

  it('join and leave count connections', () =>
    given(share, ...granted)
      .when(p1('left', { reason: 'tab closed' }))
      .then({ context: { participants: { p1: { connections: 0 } } } }));

  it('a kicked participant loses access and cannot come back', () => {
    given(share, ...granted)
      .when(p1('kick'))
      .then({ context: { participants: { p1: { kicked: true, connections: 0, access: 'read' } } } });
    given(share, ...granted, p1('kick'))
      .when(p1('joined', { via: 'cli' }))
      .thenRejected('PARTICIPANT_KICKED');
    given(share, ...granted, p1('kick'))
      .when(p1('grantWrite', { ttlMs: 1 }))
      .thenRejected('PARTICIPANT_KICKED', /invite them again/);
  });

  it('an unknown participant is refused', () =>
    given(share, ...active)
      .when('grantWrite', { participantId: 'nobody', ttlMs: MIN })
      .thenRejected('PARTICIPANT_UNKNOWN'));

  it('a read-only share refuses write grants', () =>
    given(share, request('allow', 'read'), 'started', invite)
      .when(p1('grantWrite', { ttlMs: MIN }))
      .thenRejected('SHARE_READ_ONLY'));

  it('a kicked participant cannot be managed again', () =>
    given(share, ...active, cmd('kick', { participantId: 'p1' }, { by: 'human:ops' }))
      .when(cmd('kick', { participantId: 'p1' }, { by: 'human:ops' }))
      .thenRejected('PARTICIPANT_KICKED'));
});

describe('share: ending', () => {
  it("a revoke records who ended it (who may is the authorization table's)", () => {
    given(share, ...active)
      .when('revoke', {}, { by: 'human:ops' })
      .then({ context: { endReason: 'revoked', endedBy: 'human:ops' } });
  });

  it('ends revoked, terminated, failed or switched, with the detail and no deadlines', () => {
    for (const [verb, data, endReason, endDetail] of [
      ['revoke', { reason: 'done' }, 'revoked', 'done'],
      ['terminate', { reason: 'terminal closed' }, 'terminated', 'terminal closed'],
      ['failed', { reason: 'worker exited' }, 'failed', 'worker exited'],
      ['switch', { toShareId: 's2' }, 'switched', 'switched to share s2'],
    ] as const) {
      given(share, ...active)
        .when(verb, data)
        .then({ state: 'ended', context: { endReason, endDetail }, deadlines: [] });
      given(share, ...active, cmd(verb, data))
        .when(extend(1))
        .thenRejected(`SHARE_${endReason.toUpperCase()}`);
    }
  });

  it('an ended share takes nothing, naming how it ended', () =>
    given(share, ...active, cmd('revoke', { reason: 'done' }))
      .when(p1('kick'))
      .thenRejected('SHARE_REVOKED', /ended \(revoked\) at .* \(done\); kick is not possible/));
});

describe('approval', () => {
  const owner = 'human:ann';
  const req = cmd('request', {
    shareId: 's1',
    requestedBy: { kind: 'human', id: 'ann' },
    ruleId: 'r',
    reason: 'x',
    timeoutMs: 15 * MIN,
  });

  it('is pending until its deadline', () =>
    given(approval)
      .when(req)
      .then({ state: 'pending', deadlines: [{ verb: 'expire', at: at(15 * MIN) }] }));

  it('another human approves, with a note', () =>
    given(approval, req)
      .when('approve', { note: 'fine' }, { by: 'human:carol' })
      .then({ state: 'approved', context: { decidedBy: 'human:carol', note: 'fine' } }));

  it('another human denies', () =>
    given(approval, req).when('deny', { reason: 'no' }, { by: 'human:carol' }).then('denied'));

  it('the requester cannot decide', () =>
    given(approval, req)
      .when('approve', {}, { by: owner })
      .thenRejected('APPROVER_IS_REQUESTER', /ask another operator/));

  it('only a human decides', () =>
    given(approval, req).when('approve', {}, { by: 'ai:x' }).thenRejected('APPROVER_NOT_HUMAN'));

  it('expires at its deadline, not before', () => {
    given(approval, req)
      .when('expire', {}, { at: 15 * MIN - 1 })
      .thenRejected('APPROVAL_NOT_DUE');
    given(approval, req)
      .when('expire', {}, { at: 15 * MIN })
      .then('expired');
  });

  it('a decided approval says who decided', () =>
    given(approval, req, cmd('deny', { reason: 'no' }, { by: 'human:carol' }))
      .when('approve', {}, { by: 'human:dave' })
      .thenRejected('APPROVAL_DENIED', /already denied by human:carol/));
});

describe('terminal share slots', () => {
  const open = (id: string) => cmd('shareOpen', { shareId: id, limit: 3 });
  const full = [
    cmd('spawn', { laneId: 'l', sessionId: 's' }),
    cmd('started', { tmuxSession: 't', panePid: 9 }),
    open('a'),
    open('b'),
    open('c'),
  ];

  it('holds at most `limit` shares; the next is refused with the reason', () =>
    given(terminal, ...full)
      .when(open('d'))
      .thenRejected('TERMINAL_SHARE_LIMIT', /3 active shares \(a, b, c\), the limit is 3/));

  it('closing a slot frees it', () =>
    given(terminal, ...full, cmd('shareClose', { shareId: 'b' }))
      .when(open('d'))
      .then({ context: { shares: ['a', 'c', 'd'] } }));

  it('closing a slot it does not hold is refused', () =>
    given(terminal, ...full)
      .when('shareClose', { shareId: 'x' })
      .thenRejected('SHARE_SLOT_FREE'));
});
