import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { lease } from './index.ts';
import { leaseMachine, type LeaseEvent } from './lease.machine.ts';
import { at, cmd, given, MIN } from './testing/index.ts';

const create = cmd('create', { holder: 'ann', ttlMs: MIN });
const released = [create, cmd('release', { reason: 'done' }, { at: 10 })];

describe('lease', () => {
  it('create sets an absolute deadline from the event time', () =>
    given(lease)
      .when(create)
      .then({
        state: 'held',
        final: false,
        context: { holder: 'ann', expiresAt: at(MIN), renewals: 0 },
        deadlines: [{ verb: 'expire', at: at(MIN) }],
      }));

  it('renew before the deadline extends it from the renewal', () =>
    given(lease, create)
      .when('renew', {}, { at: MIN - 1 })
      .then({ context: { expiresAt: at(2 * MIN - 1), renewals: 1 } }));

  it('renew at the deadline is refused: the lease expired', () =>
    given(lease, create)
      .when('renew', {}, { at: MIN })
      .thenRejected('LEASE_EXPIRED', `lease lease-1 expired at ${at(MIN)}; renew is not possible, create a new lease`));

  it('expire at the deadline ends the lease and its deadline', () =>
    given(lease, create).when('expire', {}, { at: MIN }).then({ state: 'expired', deadlines: [] }));

  it('expire before the deadline is refused', () =>
    given(lease, create)
      .when('expire', {}, { at: MIN - 1 })
      .thenRejected('LEASE_NOT_DUE', /held until/));

  it('release records when and why', () =>
    given(lease, create)
      .when('release', { reason: 'done' }, { at: 10 })
      .then({ state: 'released', final: true, context: { endedAt: at(10), releaseReason: 'done' } }));

  it('a released lease accepts nothing more', () => {
    for (const verb of ['renew', 'release', 'expire'])
      given(lease, ...released)
        .when(verb, {}, { at: 20 })
        .thenRejected('LEASE_RELEASED', `${verb} is not possible`);
  });

  it('an expired lease says so', () =>
    given(lease, create, cmd('expire', {}, { at: MIN }))
      .when('renew')
      .thenRejected('LEASE_EXPIRED', /create a new/));

  it('is pure: the same commands give the same event and snapshot', () => {
    const run = () => given(lease, create).when('renew', { ttlMs: 5_000 }, { at: 5 }).decision;
    expect(JSON.stringify(run())).toBe(JSON.stringify(run()));
  });

  it('every shortest path reaches its state through accepted events (xstate/graph)', () => {
    const actor = { kind: 'human' as const, id: 'ann' };
    const step = (s: AnyMachineSnapshot, e: LeaseEvent) => transition(leaseMachine, s, e)[0] as AnyMachineSnapshot;
    const model = createTestModel(leaseMachine, {
      // States are told apart by value: renew changes context for ever, the graph must stay finite.
      serializeState: (s) => JSON.stringify((s as AnyMachineSnapshot).value),
      events: [
        { type: 'create', at: at(0), actor, data: { holder: 'ann', ttlMs: 1_000 } },
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
      let s = initialTransition(leaseMachine)[0] as AnyMachineSnapshot;
      for (const st of p.steps.filter((x) => (x.event.type as string) !== 'xstate.init')) {
        expect(s.can(st.event)).toBe(true);
        s = step(s, st.event as LeaseEvent);
      }
      expect(s.value).toEqual(p.state.value);
    }
  });
});
