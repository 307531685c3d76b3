import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { createTestModel } from 'xstate/graph';
import type { Actor } from '@tether/contracts';
import { liveSession } from './index.ts';
import { liveSessionDeadlines, liveSessionMachine, type LiveSessionEvent } from './live-session.machine.ts';
import { at, cmd, given, MIN, type Step } from './testing/index.ts';

// A task run's live session: 60 min TTL, 15 min write grants, a 10 s heartbeat (three missed end it).
const OPS = 'human:ops';
const SYS = 'system:worker:live';
const HB = 10_000;
const TTL = 60 * MIN;
const RW = 15 * MIN;
const open = cmd(
  'open',
  {
    taskRunId: 'tr-1',
    terminalId: 't-1',
    provider: 'native',
    ttlMs: TTL,
    rwTtlMs: RW,
    allowWeb: true,
    heartbeatMs: HB,
  },
  { by: OPS },
);
const ready = cmd('ready', { shareId: 'sh-ls-1' }, { by: SYS, at: 1_000 });
const bob = { kind: 'human' as const, id: 'bob' };
const ann = { kind: 'human' as const, id: 'ann' };
const grant = (to: Actor, ms: number, ttlMs = RW) =>
  cmd('grantWrite', { to, participantId: `p-${to.id}`, ttlMs }, { by: OPS, at: ms });
const beat = (ms: number) => cmd('heartbeat', { instanceId: 'inst-1' }, { by: SYS, at: ms });

describe('liveSession: starting, ready, grants', () => {
  it('open: starting, owned by its opener, with its TTL and a first heartbeat deadline', () =>
    given(liveSession)
      .when(open)
      .then({
        state: 'starting',
        context: { owner: { kind: 'human', id: 'ops' }, expiresAt: at(TTL), heartbeatDueAt: at(3 * HB), grants: [] },
        deadlines: [
          { verb: 'expire', at: at(TTL) },
          { verb: 'heartbeatMissed', at: at(3 * HB) },
        ],
      }));

  it('opens once (enabling again is the application command’s to answer)', () =>
    given(liveSession, open).when(open).thenRejected('ALREADY_EXISTS'));

  it('ready: the share that serves it, and the heartbeat deadline from then', () =>
    given(liveSession, open)
      .when(ready)
      .then({
        state: 'ready',
        context: { shareId: 'sh-ls-1', readyAt: at(1_000), heartbeatDueAt: at(1_000 + 3 * HB) },
      }));

  it('write grants are refused while starting, and after it ended', () => {
    given(liveSession, open)
      .when(grant(bob, 500))
      .thenRejected('LIVE_SESSION_NOT_READY', /write grants are possible once it is READY/);
    given(liveSession, open, ready, cmd('revoke', {}, { by: OPS, at: 2_000 }))
      .when(grant(bob, 3_000))
      .thenRejected('LIVE_SESSION_REVOKED', /revoked by human:ops/);
    given(liveSession, open, cmd('failed', { reason: 'tmate could not reach its relay' }, { by: SYS }))
      .when(grant(bob, 3_000))
      .thenRejected('LIVE_SESSION_ERROR', /tmate could not reach its relay/);
  });

  it('a grant has its own expiry (a durable deadline); granting again renews it', () => {
    given(liveSession, open, ready)
      .when(grant(bob, 2_000))
      .then({
        context: { grants: [{ to: bob, participantId: 'p-bob', grantedAt: at(2_000), expiresAt: at(2_000 + RW) }] },
        deadlines: [
          { verb: 'expire', at: at(TTL) },
          { verb: 'heartbeatMissed', at: at(1_000 + 3 * HB) },
          { verb: 'writeExpired', at: at(2_000 + RW) },
        ],
      });
    given(liveSession, open, ready, grant(bob, 2_000))
      .when(grant(bob, 5_000))
      .then({ context: { grants: [{ to: bob, expiresAt: at(5_000 + RW) }] } });
  });

  it('writeExpired ends only the grants that are due, and only when one is', () => {
    const history = [open, ready, grant(bob, 2_000), grant(ann, 4_000)];
    given(liveSession, ...history)
      .when(cmd('writeExpired', {}, { by: SYS, at: 2_000 + RW - 1 }))
      .thenRejected('LIVE_GRANT_NOT_DUE');
    given(liveSession, ...history)
      .when(cmd('writeExpired', {}, { by: SYS, at: 2_000 + RW }))
      .then({ state: 'ready', context: { grants: [{ to: ann }] } });
  });

  it('revokeWrite: one person, or everyone; someone who holds none is refused', () => {
    const history = [open, ready, grant(bob, 2_000), grant(ann, 3_000)];
    given(liveSession, ...history)
      .when(cmd('revokeWrite', { to: 'human:bob' }, { by: OPS, at: 4_000 }))
      .then({ state: 'ready', context: { grants: [{ to: ann }] } });
    given(liveSession, ...history)
      .when(cmd('revokeWrite', {}, { by: OPS, at: 4_000 }))
      .then({ state: 'ready', context: { grants: [] } });
    given(liveSession, open, ready, grant(bob, 2_000))
      .when(cmd('revokeWrite', { to: 'human:eve' }, { by: OPS, at: 4_000 }))
      .thenRejected('LIVE_NO_GRANT', /human:eve holds no write grant/);
  });
});

describe('liveSession: how it ends', () => {
  it('the run ended: ENDED with the reason; no deadline left, nothing more taken', () => {
    given(liveSession, open, ready, grant(bob, 2_000))
      .when(cmd('end', { reason: 'task run tr-1 succeeded' }, { by: SYS, at: 9_000 }))
      .then({
        state: 'ended',
        final: true,
        context: { endReason: 'task run tr-1 succeeded', endedAt: at(9_000), grants: [] },
        deadlines: [],
      });
    given(liveSession, open, ready, cmd('end', { reason: 'x' }, { by: SYS }))
      .when(beat(10_000))
      .thenRejected('LIVE_SESSION_ENDED');
  });

  it('the provider failed: ERROR with its reason (the run goes on; that is the run’s own machine)', () =>
    given(liveSession, open)
      .when(cmd('failed', { reason: 'tmate could not reach 127.0.0.1:9' }, { by: SYS, at: 3_000 }))
      .then({ state: 'error', final: true, context: { endReason: 'tmate could not reach 127.0.0.1:9' } }));

  it('revoke: REVOKED by whom', () =>
    given(liveSession, open, ready)
      .when(cmd('revoke', {}, { by: OPS, at: 3_000 }))
      .then({ state: 'revoked', context: { endReason: 'revoked by human:ops', endedBy: 'human:ops' } }));

  it('expire: only at its TTL, then ENDED', () => {
    given(liveSession, open, ready)
      .when(cmd('expire', {}, { by: SYS, at: TTL - 1 }))
      .thenRejected('LIVE_SESSION_NOT_DUE');
    given(liveSession, open, ready)
      .when(cmd('expire', {}, { by: SYS, at: TTL }))
      .then({ state: 'ended', context: { endReason: 'its TTL (60 min) is up' } });
  });

  it('heartbeats move the deadline; three missed end it in ERROR naming the worker', () => {
    given(liveSession, open, ready, beat(5_000))
      .when(cmd('heartbeatMissed', {}, { by: SYS, at: 5_000 + 3 * HB - 1 }))
      .thenRejected('LIVE_SESSION_HEARTBEAT_NOT_DUE');
    given(liveSession, open, ready, beat(5_000))
      .when(cmd('heartbeatMissed', {}, { by: SYS, at: 5_000 + 3 * HB }))
      .then({
        state: 'error',
        context: { endReason: `its worker (inst-1) missed three heartbeats (last ${at(5_000)})` },
      });
    given(liveSession, open)
      .when(cmd('heartbeatMissed', {}, { by: SYS, at: 3 * HB }))
      .then({ state: 'error', context: { endReason: /missed three heartbeats \(last never\)/ } });
  });
});

describe('liveSessionDeadlines', () => {
  const ctx = given(liveSession, open, ready).state.snapshot.context;
  it('only a starting or ready session has any', () => {
    expect(liveSessionDeadlines('ready', ctx).map((d) => d.verb)).toEqual(['expire', 'heartbeatMissed']);
    for (const v of ['absent', 'revoked', 'ended', 'error']) expect(liveSessionDeadlines(v, ctx)).toEqual([]);
  });
});

describe('liveSession: model paths (xstate/graph)', () => {
  const atIso = (st: Step): Step => ({ ...st, at: typeof st.at === 'string' ? st.at : at(st.at ?? 0) });
  const steps = [
    open,
    ready,
    beat(2_000),
    grant(bob, 3_000),
    cmd('revokeWrite', { to: 'human:bob' }, { by: OPS, at: 4_000 }),
    cmd('writeExpired', {}, { by: SYS, at: 3_000 + RW }),
    cmd('heartbeatMissed', {}, { by: SYS, at: 1_000 }), // not due: refused wherever it comes
    cmd('heartbeatMissed', {}, { by: SYS, at: TTL - 1 }),
    cmd('expire', {}, { by: SYS, at: TTL }),
    cmd('revoke', {}, { by: OPS, at: 5_000 }),
    cmd('end', { reason: 'task run tr-1 failed' }, { by: SYS, at: 6_000 }),
    cmd('failed', { reason: 'share failed' }, { by: SYS, at: 6_000 }),
  ].map(atIso);
  const events = steps.map(({ verb, data, at: when, by }) => {
    const [kind, ...id] = String(by ?? 'human:ann').split(':');
    return { type: verb, data, at: when, actor: { kind, id: id.join(':') } as Actor } as LiveSessionEvent;
  });
  const model = createTestModel(liveSessionMachine, {
    events,
    serializeState: (snap) =>
      JSON.stringify([(snap as AnyMachineSnapshot).value, (snap as AnyMachineSnapshot).context.grants.length]),
  });
  const stepsOf = (p: { steps: { event: { type: string } }[] }) =>
    p.steps
      .filter((x) => x.event.type !== 'xstate.init')
      .map((x) => steps[events.indexOf(x.event as LiveSessionEvent)]!);

  it('models every event the machine takes', () =>
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      [...liveSessionMachine.events].filter((t) => !t.startsWith('xstate.')).sort(),
    ));

  it('every state is reached along paths decide() accepts; a grant only ever after ready', () => {
    const paths = model.getSimplePaths();
    const visited = new Set(paths.flatMap((p) => p.steps.map((x) => String(x.state.value))));
    expect([...visited].sort()).toEqual(Object.keys(liveSessionMachine.root.states).sort());
    for (const p of paths) {
      const history = stepsOf(p);
      const decided = given(liveSession, ...history).state.snapshot;
      expect(decided.value).toEqual(p.state.value);
      const verbs = history.map((x) => x.verb);
      if (verbs.includes('grantWrite')) expect(verbs.indexOf('ready')).toBeLessThan(verbs.indexOf('grantWrite'));
      // The early heartbeatMissed never ends a session.
      expect(history.some((x) => x.verb === 'heartbeatMissed' && x.at === at(1_000))).toBe(false);
      // Final states hold no grant: nobody types in a session that ended.
      if (['revoked', 'ended', 'error'].includes(String(decided.value))) expect(decided.context.grants).toEqual([]);
    }
  });
});
