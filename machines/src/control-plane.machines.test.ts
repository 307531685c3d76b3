import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { explainHarness, harnessMachine, transportFor } from './harness.machine.ts';
import { explainLane, laneMachine } from './lane.machine.ts';
import { explainSession, sessionDeadlines, sessionMachine } from './session.machine.ts';

const SESSION_HEARTBEAT_TIMEOUT_MS = 60_000;
import { terminalMachine } from './terminal.machine.ts';

const actor = { kind: 'system' as const, id: 'test' };
const t0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms = 0) => new Date(t0 + ms).toISOString();
type E = { type: string; data?: Record<string, unknown>; ms?: number };

/** Feeds events through a machine purely; throws if one is refused. */
function run(machine: AnyStateMachine, events: E[]): AnyMachineSnapshot {
  let s = initialTransition(machine)[0] as AnyMachineSnapshot;
  for (const e of events) {
    const ev = { type: e.type, data: e.data ?? {}, at: at(e.ms), actor };
    if (!s.can(ev)) throw new Error(`${e.type} refused in ${JSON.stringify(s.value)}`);
    s = transition(machine, s, ev)[0] as AnyMachineSnapshot;
  }
  return s;
}
const can = (s: AnyMachineSnapshot, e: E) => s.can({ type: e.type, data: e.data ?? {}, at: at(e.ms), actor });

describe('lane machine', () => {
  const created = [{ type: 'create', data: { workspaceId: 'ws', projectContextId: 'p', displayName: 'Lane' } }];
  const ready = [...created, { type: 'provisioned', data: { worktreePath: '/w/l1', branch: 'tether/l1' } }];

  it('goes new → provisioning → ready → running → blocked → running → shared → running → cleaning → closed', () => {
    const s = run(laneMachine, [
      ...ready,
      { type: 'attach' },
      { type: 'block', data: { reason: 'needs review' } },
      { type: 'unblock' },
      { type: 'share', data: { shareId: 's1' } },
      { type: 'unshare' },
      { type: 'cleanup' },
      { type: 'cleaned', ms: 5 },
    ]);
    expect(s.value).toBe('closed');
    expect(s.context).toMatchObject({ worktreePath: '/w/l1', closedAt: at(5) });
    expect(s.context.blockedReason).toBeUndefined();
  });

  it('records why it is in error; from error only cleanup is possible', () => {
    const failed = run(laneMachine, [
      ...created,
      { type: 'provisionFailed', data: { reason: 'not a git repository' } },
    ]);
    expect(failed.value).toBe('error');
    expect(failed.context.error).toEqual({ reason: 'provision_failed', message: 'not a git repository' });
    expect(can(failed, { type: 'attach' })).toBe(false);
    expect(explainLane('l1', failed.value, failed.context, { type: 'attach' })?.message).toMatch(
      /in error \(provision_failed: not a git repository\); only cleanup/,
    );
    const missing = run(laneMachine, [...ready, { type: 'worktreeMissing', data: { worktreePath: '/w/l1' } }]);
    expect(missing.context.error).toEqual({ reason: 'worktree_missing', message: 'worktree /w/l1 is gone from disk' });
    expect(
      run(laneMachine, [...ready, { type: 'worktreeMissing', data: { worktreePath: '/w/l1' } }, { type: 'cleanup' }])
        .value,
    ).toBe('cleaning');
  });

  it('refuses a blocked lane to attach and a closed lane everything, saying why', () => {
    const blocked = run(laneMachine, [...ready, { type: 'block', data: { reason: 'waiting on CI' } }]);
    expect(can(blocked, { type: 'attach' })).toBe(false);
    expect(explainLane('l1', blocked.value, blocked.context, { type: 'attach' })?.reason).toBe('LANE_BLOCKED');
    const closed = run(laneMachine, [...ready, { type: 'cleanup' }, { type: 'cleaned' }]);
    expect(closed.status).toBe('done');
    expect(explainLane('l1', closed.value, closed.context, { type: 'attach' })?.reason).toBe('LANE_CLOSED');
  });
});

describe('session machine', () => {
  const create = {
    type: 'create',
    data: {
      laneId: 'l1',
      codexSessionId: 'c1',
      provider: 'codex',
      transport: 'cliproxy_harness',
      heartbeatTimeoutMs: SESSION_HEARTBEAT_TIMEOUT_MS,
    },
  };

  it('attaching → attached; heartbeats push the durable deadline; a missed heartbeat detaches only when overdue', () => {
    const s = run(sessionMachine, [create, { type: 'attached', ms: 10 }, { type: 'heartbeat', ms: 30_000 }]);
    expect(s.value).toBe('attached');
    expect(sessionDeadlines(s.value, s.context)).toEqual([
      { verb: 'heartbeatMissed', at: at(30_000 + SESSION_HEARTBEAT_TIMEOUT_MS) },
    ]);
    expect(can(s, { type: 'heartbeatMissed', ms: 30_000 + SESSION_HEARTBEAT_TIMEOUT_MS - 1 })).toBe(false);
    expect(explainSession('s1', s.value, s.context, { type: 'heartbeatMissed' })?.reason).toBe('HEARTBEAT_NOT_DUE');
    const detached = run(sessionMachine, [
      create,
      { type: 'attached' },
      { type: 'heartbeatMissed', ms: SESSION_HEARTBEAT_TIMEOUT_MS },
    ]);
    expect(detached.value).toBe('detached');
    expect(sessionDeadlines(detached.value, detached.context)).toEqual([]);
  });

  it('re-attaches with a new transport and terminates for good', () => {
    const s = run(sessionMachine, [
      create,
      { type: 'attached' },
      { type: 'detach' },
      { type: 'attach', data: { transport: 'native_openai', degradeReason: 'harness down' } },
    ]);
    expect(s.value).toBe('attaching');
    expect(s.context).toMatchObject({
      transport: 'native_openai',
      degradeReason: 'harness down',
      codexSessionId: 'c1',
    });
    const ended = run(sessionMachine, [create, { type: 'terminate', data: { reason: 'lane cleaned up' }, ms: 7 }]);
    expect(ended.context).toMatchObject({ terminatedReason: 'lane cleaned up', terminatedAt: at(7) });
    expect(can(ended, { type: 'heartbeat' })).toBe(false);
  });
});

describe('terminal machine', () => {
  const spawn = { type: 'spawn', data: { laneId: 'l1', sessionId: 's1', title: 'shell' } };
  it('idle → spawning → active ⇄ throttled → closed, keeping how it ended', () => {
    const s = run(terminalMachine, [
      spawn,
      { type: 'started', data: { tmuxSession: 't1', panePid: 42 } },
      { type: 'throttle', data: { bytesPerSec: 9e6 } },
      { type: 'unthrottle' },
      { type: 'exited', data: { code: 0, signal: null } },
    ]);
    expect(s.value).toBe('closed');
    expect(s.context).toMatchObject({ panePid: 42, closeReason: 'exited', exit: { code: 0, signal: null } });
    expect(
      run(terminalMachine, [spawn, { type: 'spawnFailed', data: { reason: 'no such directory' } }]).context.closeReason,
    ).toBe('spawn_failed: no such directory');
  });
});

describe('harness machine', () => {
  const configure = { type: 'configure', data: { url: 'http://127.0.0.1:1', cooldownMs: 10_000 } };
  const change = (status: string, ms: number, reason?: string) => ({
    type: 'status.changed',
    data: { status, ...(reason ? { reason } : {}) },
    ms,
  });

  it('starts degraded until the first check, which may recover at once', () => {
    const s = run(harnessMachine, [configure]);
    expect([s.value, transportFor(s.value as never)]).toEqual(['degraded', 'native_openai']);
    expect(run(harnessMachine, [configure, change('healthy', 1)]).value).toBe('healthy');
  });

  it('degrades at once but recovers only after the cooldown: no flapping', () => {
    const down = run(harnessMachine, [
      configure,
      change('healthy', 1),
      change('degraded', 5_000, 'connect ECONNREFUSED'),
    ]);
    expect(down.context).toMatchObject({ degradeReason: 'connect ECONNREFUSED', changedAt: at(5_000) });
    expect(transportFor(down.value as never)).toBe('native_openai');
    expect(can(down, change('healthy', 14_999))).toBe(false);
    expect(
      explainHarness('cliproxy', down.value, down.context, { type: 'status.changed', at: at(14_999) })?.reason,
    ).toBe('HARNESS_COOLDOWN');
    expect(can(down, change('healthy', 15_000))).toBe(true);
    expect(can(down, change('degraded', 20_000, 'again'))).toBe(false);
  });

  it('reconfigure starts the route over: a new url waits for its first check, no url is unavailable', () => {
    const off = run(harnessMachine, [{ type: 'configure', data: { url: null, cooldownMs: 0 } }]);
    const on = run(harnessMachine, [
      { type: 'configure', data: { url: null, cooldownMs: 0 } },
      { type: 'reconfigure', data: { url: 'http://127.0.0.1:2', cooldownMs: 5_000 }, ms: 10 },
    ]);
    expect([off.value, on.value]).toEqual(['unavailable', 'degraded']);
    expect(on.context).toMatchObject({
      url: 'http://127.0.0.1:2',
      cooldownMs: 5_000,
      checked: false,
      degradeReason: 'no health check yet',
    });
    expect(can(on, change('healthy', 11))).toBe(true); // first check: no cooldown
    const healthy = run(harnessMachine, [
      configure,
      change('healthy', 1),
      { type: 'reconfigure', data: { url: null, cooldownMs: 0 }, ms: 2 },
    ]);
    expect(healthy.value).toBe('unavailable');
  });

  it('without a url it is unavailable and says why', () => {
    const s = run(harnessMachine, [{ type: 'configure', data: { url: null, cooldownMs: 0 } }]);
    expect(s.value).toBe('unavailable');
    expect(s.context.degradeReason).toMatch(/^not_configured/);
  });
});
