import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { explainLease, leaseDeadlines, leaseMachine, type LeaseEvent } from './lease.machine.ts';

const actor = { kind: 'human' as const, id: 'ann' };
const t0 = '2026-01-01T00:00:00.000Z';
const at = (ms: number) => new Date(Date.parse(t0) + ms).toISOString();
const start = () => initialTransition(leaseMachine)[0] as AnyMachineSnapshot;
const step = (s: AnyMachineSnapshot, e: LeaseEvent) => transition(leaseMachine, s, e)[0] as AnyMachineSnapshot;
const created = () => step(start(), { type: 'create', at: t0, actor, data: { holder: 'ann', ttlMs: 60_000 } });

describe('lease machine (pure)', () => {
  it('create sets an absolute deadline from the event time', () => {
    const s = created();
    expect(s.value).toBe('held');
    expect(s.context).toMatchObject({ holder: 'ann', expiresAt: at(60_000), renewals: 0 });
    expect(leaseDeadlines(s.value, s.context)).toEqual([{ verb: 'expire', at: at(60_000) }]);
  });

  it('renew before the deadline extends it; at or after the deadline it is refused with a reason', () => {
    const s = step(created(), { type: 'renew', at: at(59_999), actor, data: {} });
    expect(s.context).toMatchObject({ expiresAt: at(119_999), renewals: 1 });
    const late = { type: 'renew' as const, at: at(60_000), actor, data: {} };
    expect(created().can(late)).toBe(false);
    expect(explainLease('l1', 'held', created().context, late)).toEqual({
      reason: 'LEASE_EXPIRED',
      message: `lease l1 expired at ${at(60_000)}; renew is not possible, create a new lease`,
    });
  });

  it('expire only when due: exactly one of a racing renew and expire can win', () => {
    const s = created();
    const expire = { type: 'expire' as const, at: at(60_000), actor, data: {} };
    const renew = { type: 'renew' as const, at: at(60_000), actor, data: {} };
    expect([s.can(expire), s.can(renew)]).toEqual([true, false]);
    const early = { ...expire, at: at(59_999) };
    expect([s.can(early), s.can({ ...renew, at: at(59_999) })]).toEqual([false, true]);
    expect(step(s, expire).value).toBe('expired');
    expect(leaseDeadlines('expired', step(s, expire).context)).toEqual([]);
  });

  it('released and expired are final: nothing more is accepted', () => {
    const released = step(created(), { type: 'release', at: at(10), actor, data: { reason: 'done' } });
    expect(released.status).toBe('done');
    expect(released.context).toMatchObject({ endedAt: at(10), releaseReason: 'done' });
    for (const type of ['renew', 'release', 'expire'] as const)
      expect(released.can({ type, at: at(20), actor, data: {} } as LeaseEvent)).toBe(false);
    expect(explainLease('l1', 'released', released.context, { type: 'renew', at: at(20) })?.reason).toBe(
      'LEASE_RELEASED',
    );
  });

  it('is pure: the same events give the same snapshot', () => {
    const run = () =>
      step(step(created(), { type: 'renew', at: at(5), actor, data: { ttlMs: 5_000 } }), {
        type: 'release',
        at: at(6),
        actor,
        data: {},
      });
    expect(JSON.stringify(run())).toBe(JSON.stringify(run()));
  });

  it('every shortest path reaches its state through accepted events (xstate/graph)', () => {
    const model = createTestModel(leaseMachine, {
      // States are told apart by value: renew changes context for ever, the graph must stay finite.
      serializeState: (s) => JSON.stringify((s as AnyMachineSnapshot).value),
      events: [
        { type: 'create', at: t0, actor, data: { holder: 'ann', ttlMs: 1_000 } },
        { type: 'renew', at: at(500), actor, data: {} },
        { type: 'release', at: at(600), actor, data: {} },
        { type: 'expire', at: at(5_000), actor, data: {} },
      ] as LeaseEvent[],
    });
    const paths = model.getShortestPaths();
    expect(new Set(paths.map((p) => JSON.stringify(p.state.value)))).toEqual(new Set(['"released"', '"expired"']));
    const visited = new Set(paths.flatMap((p) => p.steps.map((st) => JSON.stringify(st.state.value))));
    expect(visited).toEqual(new Set(['"absent"', '"held"', '"released"', '"expired"']));
    for (const p of paths) {
      let s = start();
      for (const st of p.steps.filter((x) => (x.event.type as string) !== 'xstate.init')) {
        expect(s.can(st.event)).toBe(true);
        s = step(s, st.event as LeaseEvent);
      }
      expect(s.value).toEqual(p.state.value);
    }
  });
});
