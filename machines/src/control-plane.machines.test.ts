import { describe, expect, it } from 'vitest';
import { transportFor } from './harness.machine.ts';
import { harness, lane, session, terminal } from './index.ts';
import { at, cmd, given, MIN } from './testing/index.ts';

describe('lane', () => {
  const create = cmd('create', { workspaceId: 'ws', projectContextId: 'p', displayName: 'Lane' });
  const ready = [create, cmd('provisioned', { worktreePath: '/w/l1', branch: 'tether/l1' })];
  const failed = [create, cmd('provisionFailed', { reason: 'not a git repository' })];
  const missing = [...ready, cmd('worktreeMissing', { worktreePath: '/w/l1' })];

  it('is provisioning until its worktree exists, then ready', () => {
    given(lane).when(create).then('provisioning');
    given(lane, create)
      .when(ready[1]!)
      .then({ state: 'ready', context: { worktreePath: '/w/l1' } });
  });

  it('goes running, blocked, running, shared, running', () => {
    const path = [
      ...ready,
      'attach',
      cmd('block', { reason: 'needs review' }),
      'unblock',
      cmd('share', { shareId: 's1' }),
    ];
    given(lane, ...path)
      .when('unshare')
      .then({ state: 'running', context: { blockedReason: undefined } });
  });

  it('cleans up, then closes with the time', () =>
    given(lane, ...ready, 'cleanup')
      .when('cleaned', {}, { at: 5 })
      .then({ state: 'closed', final: true, context: { closedAt: at(5) } }));

  it('a closed lane holds no session, even when the unbind of its session had not arrived', () =>
    given(lane, ...ready, cmd('bindSession', { sessionId: 's1', codexSessionId: 'c1' }), 'cleanup')
      .when('cleaned', {}, { at: 5 })
      .then({ state: 'closed', context: { activeSessionId: undefined } }));

  it('records why provisioning failed', () =>
    given(lane, create)
      .when(failed[1]!)
      .then({ state: 'error', context: { error: { reason: 'provision_failed', message: 'not a git repository' } } }));

  it('in error it refuses all but cleanup, saying why', () => {
    given(lane, ...failed)
      .when('attach')
      .thenRejected('LANE_ERROR', /in error \(provision_failed: not a git repository\); only cleanup/);
    given(lane, ...failed)
      .when('cleanup')
      .then('cleaning');
  });

  it('marks a vanished worktree, which can still be cleaned up', () => {
    given(lane, ...ready)
      .when(missing[2]!)
      .then({ context: { error: { reason: 'worktree_missing', message: 'worktree /w/l1 is gone from disk' } } });
    given(lane, ...missing)
      .when('cleanup')
      .then('cleaning');
  });

  it('a blocked lane refuses attach', () =>
    given(lane, ...ready, cmd('block', { reason: 'waiting on CI' }))
      .when('attach')
      .thenRejected('LANE_BLOCKED', /waiting on CI/));

  it('a closed lane refuses everything', () =>
    given(lane, ...ready, 'cleanup', 'cleaned')
      .when('attach')
      .thenRejected('LANE_CLOSED', /create a new lane/));

  it('while provisioning or cleaning, it says to wait', () => {
    given(lane, create).when('attach').thenRejected('LANE_PROVISIONING');
    given(lane, ...ready, 'cleanup')
      .when('attach')
      .thenRejected('LANE_CLEANING');
  });

  it('binds one session at a time', () => {
    const bound = [...ready, cmd('bindSession', { sessionId: 's1', codexSessionId: 'c1' })];
    given(lane, ...ready)
      .when(bound.at(-1)!)
      .then({ context: { activeSessionId: 's1', codexSessionId: 'c1' } });
    given(lane, ...bound)
      .when(bound.at(-1)!)
      .thenRejected('SESSION_ACTIVE', /already has the active session s1/);
  });

  it('unbinds only its active session', () => {
    const bound = [...ready, cmd('bindSession', { sessionId: 's1', codexSessionId: 'c1' })];
    given(lane, ...bound)
      .when('unbindSession', { sessionId: 's2' })
      .thenRejected('NOT_ACTIVE_SESSION', /\(s1\)/);
    given(lane, ...bound)
      .when('unbindSession', { sessionId: 's1' })
      .then({ context: { activeSessionId: undefined } });
  });
});

describe('session', () => {
  const create = cmd('create', {
    laneId: 'l1',
    codexSessionId: 'c1',
    provider: 'codex',
    transport: 'cliproxy_harness',
    heartbeatTimeoutMs: MIN,
  });
  const attached = [create, cmd('attached', {}, { at: 10 })];
  const missed = (ms: number) => cmd('heartbeatMissed', {}, { at: ms });

  it('attaching → attached', () => given(session, create).when(attached[1]!).then('attached'));

  it('a heartbeat pushes the durable deadline', () =>
    given(session, ...attached)
      .when('heartbeat', {}, { at: 30_000 })
      .then({ deadlines: [{ verb: 'heartbeatMissed', at: at(30_000 + MIN) }] }));

  it('a missed heartbeat is refused until it is overdue', () =>
    given(session, ...attached)
      .when(missed(10 + MIN - 1))
      .thenRejected('HEARTBEAT_NOT_DUE', /not overdue/));

  it('an overdue heartbeat detaches, with no deadline left', () =>
    given(session, ...attached)
      .when(missed(10 + MIN))
      .then({ state: 'detached', deadlines: [] }));

  it('a detached session takes no heartbeats', () =>
    given(session, ...attached, 'detach')
      .when('heartbeat')
      .thenRejected('SESSION_DETACHED', /attach it again/));

  it('re-attaches with a new transport, keeping its codex session', () =>
    given(session, ...attached, 'detach')
      .when('attach', { transport: 'native_openai', degradeReason: 'harness down' })
      .then({
        state: 'attaching',
        context: { transport: 'native_openai', degradeReason: 'harness down', codexSessionId: 'c1' },
      }));

  it('terminates with the reason and time', () =>
    given(session, create)
      .when('terminate', { reason: 'lane cleaned up' }, { at: 7 })
      .then({ state: 'terminated', context: { terminatedReason: 'lane cleaned up', terminatedAt: at(7) } }));

  it('a terminated session points to a new one', () =>
    given(session, create, 'terminate')
      .when('heartbeat')
      .thenRejected('SESSION_TERMINATED', /ensure a new session on lane l1/));
});

describe('terminal', () => {
  const spawn = cmd('spawn', { laneId: 'l1', sessionId: 's1', title: 'shell' });
  const active = [spawn, cmd('started', { tmuxSession: 't1', panePid: 42 })];

  it('idle → spawning → active ⇄ throttled', () => {
    given(terminal, spawn)
      .when(active[1]!)
      .then({ state: 'active', context: { panePid: 42 } });
    given(terminal, ...active)
      .when('throttle', { bytesPerSec: 9e6 })
      .then('throttled');
    given(terminal, ...active, cmd('throttle', { bytesPerSec: 9e6 }))
      .when('unthrottle')
      .then('active');
  });

  it('closes on exit, keeping how it ended', () =>
    given(terminal, ...active)
      .when('exited', { code: 0, signal: null })
      .then({ state: 'closed', context: { closeReason: 'exited', exit: { code: 0, signal: null } } }));

  it('a failed spawn closes it with the reason', () =>
    given(terminal, spawn)
      .when('spawnFailed', { reason: 'no such directory' })
      .then({ state: 'closed', context: { closeReason: 'spawn_failed: no such directory' } }));

  it('a spawning terminal says to retry; a closed one refuses', () => {
    given(terminal, spawn)
      .when('throttle', { bytesPerSec: 1 })
      .thenRejected('TERMINAL_SPAWNING', /retry throttle/);
    given(terminal, ...active, 'close')
      .when('throttle', { bytesPerSec: 1 })
      .thenRejected('TERMINAL_CLOSED');
  });
});

describe('harness', () => {
  const configure = cmd('configure', { url: 'http://127.0.0.1:1', cooldownMs: 10_000 });
  const off = cmd('configure', { url: null, cooldownMs: 0 });
  // A degraded or unavailable status carries a reason (the contract refuses one without).
  const status = (s: string, ms: number, reason = s === 'healthy' ? undefined : 'check failed') =>
    cmd('status.changed', { status: s, reason }, { at: ms });
  const down = [configure, status('healthy', 1), status('degraded', 5_000, 'connect ECONNREFUSED')];

  it('starts degraded until the first check, on the native route', () => {
    given(harness).when(configure).then('degraded');
    expect(transportFor('degraded')).toBe('native_openai');
  });

  it('the first check may recover at once', () => given(harness, configure).when(status('healthy', 1)).then('healthy'));

  it('degrades at once, with the reason', () =>
    given(harness, configure, status('healthy', 1))
      .when(down[2]!)
      .then({ state: 'degraded', context: { degradeReason: 'connect ECONNREFUSED', changedAt: at(5_000) } }));

  it('recovers only after the cooldown: no flapping', () => {
    given(harness, ...down)
      .when(status('healthy', 14_999))
      .thenRejected('HARNESS_COOLDOWN', `at ${at(15_000)}`);
    given(harness, ...down)
      .when(status('healthy', 15_000))
      .then('healthy');
  });

  it('refuses the status it has already', () =>
    given(harness, ...down)
      .when(status('degraded', 20_000, 'again'))
      .thenRejected('HARNESS_SAME_STATUS', /is degraded already/));

  it('from unavailable, a change within the cooldown is refused as cooling down', () =>
    given(harness, configure, status('unavailable', 1)).when(status('degraded', 2)).thenRejected('HARNESS_COOLDOWN'));

  it('without a url it is unavailable and says why', () =>
    given(harness)
      .when(off)
      .then({ state: 'unavailable', context: { degradeReason: expect.stringMatching(/^not_configured/) } }));

  it('reconfigure with a url waits for its first check, which needs no cooldown', () => {
    const on = cmd('reconfigure', { url: 'http://127.0.0.1:2', cooldownMs: 5_000 }, { at: 10 });
    given(harness, off)
      .when(on)
      .then({
        state: 'degraded',
        context: { url: 'http://127.0.0.1:2', cooldownMs: 5_000, checked: false, degradeReason: 'no health check yet' },
      });
    given(harness, off, on).when(status('healthy', 11)).then('healthy');
  });

  it('reconfigure without a url makes a healthy harness unavailable', () =>
    given(harness, configure, status('healthy', 1))
      .when('reconfigure', { url: null, cooldownMs: 0 }, { at: 2 })
      .then('unavailable'));
});
