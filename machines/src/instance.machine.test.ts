import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { createTestModel } from 'xstate/graph';
import type { Actor } from '@tether/contracts';
import { instance } from './index.ts';
import { instanceDeadlines, instanceMachine, type InstanceEvent } from './instance.machine.ts';
import { at, cmd, given, type Step } from './testing/index.ts';

// One `tether up` process with a 5 s heartbeat: it misses its heartbeat after 3 × 5 s of silence.
const SYS = 'system:tether';
const HB = 5_000;
const s = (verb: string, data: Record<string, unknown> = {}, ms = 0) => cmd(verb, data, { by: SYS, at: ms });
const start = s('start', { installationId: 'inst-key', pid: 4242, hostname: 'box', heartbeatMs: HB });
const exit = { pid: 4242, code: 137, signal: 'SIGKILL', reason: 'exited', at: at(9_000) };
const crashed = s('crashed', { detectedBy: 'inst-next', exit }, 10_000);
const recovered = s('recovered', { recoveryId: 'rec-1' }, 11_000);

describe('instance: running, heartbeats, a clean stop', () => {
  it('start: running, with a heartbeat deadline three intervals out', () =>
    given(instance)
      .when(start)
      .then({
        state: 'running',
        context: { installationId: 'inst-key', pid: 4242, hostname: 'box', startedAt: at(0) },
        deadlines: [{ verb: 'heartbeatMissed', at: at(3 * HB) }],
      }));

  it('each heartbeat moves the deadline to three intervals after it', () => {
    given(instance, start)
      .when(s('heartbeat', {}, 4_000))
      .then({
        context: { lastHeartbeatAt: at(4_000), heartbeatDeadline: at(4_000 + 3 * HB) },
        deadlines: [{ verb: 'heartbeatMissed', at: at(4_000 + 3 * HB) }],
      });
    given(instance, start, s('heartbeat', {}, 4_000))
      .when(s('heartbeat', {}, 9_000))
      .then({ deadlines: [{ verb: 'heartbeatMissed', at: at(9_000 + 3 * HB) }] });
  });

  it('stop: stopped for good, with no deadline left; nothing more is taken', () => {
    given(instance, start)
      .when(s('stop', {}, 6_000))
      .then({ state: 'stopped', final: true, context: { stoppedAt: at(6_000) }, deadlines: [] });
    given(instance, start, s('stop', {}, 6_000))
      .when(s('heartbeat', {}, 7_000))
      .thenRejected(
        'INSTANCE_STOPPED',
        `instance instance-1 (pid 4242) is stopped since ${at(6_000)}; heartbeat is not possible`,
      );
    given(instance, start, s('stop')).when(crashed).thenRejected('INSTANCE_STOPPED');
  });

  it('starts once; a heartbeat for an instance that never started is NOT_FOUND', () => {
    given(instance, start).when(start).thenRejected('ALREADY_EXISTS');
    given(instance).when(s('heartbeat')).thenRejected('NOT_FOUND');
  });
});

describe('instance: crashes', () => {
  it('crashed (a later start found it): who found it and how it ended; no deadline left', () =>
    given(instance, start)
      .when(crashed)
      .then({ state: 'crashed', context: { crashedAt: at(10_000), detectedBy: 'inst-next', exit }, deadlines: [] }));

  it('heartbeatMissed is refused before the deadline and accepted at it', () => {
    given(instance, start)
      .when(s('heartbeatMissed', {}, 3 * HB - 1))
      .thenRejected('INSTANCE_HEARTBEAT_NOT_DUE', `instance instance-1 has until ${at(3 * HB)} for its next heartbeat`);
    given(instance, start, s('heartbeat', {}, 10_000))
      .when(s('heartbeatMissed', {}, 3 * HB))
      .thenRejected('INSTANCE_HEARTBEAT_NOT_DUE');
    given(instance, start)
      .when(s('heartbeatMissed', {}, 3 * HB))
      .then({ state: 'crashed', context: { crashedAt: at(3 * HB), detectedBy: 'heartbeat deadline', exit: null } });
  });

  it('recovered only after crashed, and once', () => {
    given(instance, start, crashed)
      .when(recovered)
      .then({ state: 'recovered', final: true, context: { recoveryId: 'rec-1' } });
    given(instance, start)
      .when(recovered)
      .thenRejected(
        'INSTANCE_RUNNING',
        'instance instance-1 (pid 4242) is running; only a crashed instance can be recovered',
      );
    given(instance, start, s('stop')).when(recovered).thenRejected('INSTANCE_STOPPED');
    given(instance, start, crashed, recovered).when(recovered).thenRejected('INSTANCE_RECOVERED');
  });

  it('a crashed instance takes no heartbeat and no second crash', () => {
    given(instance, start, crashed)
      .when(s('heartbeat', {}, 12_000))
      .thenRejected('INSTANCE_CRASHED');
    given(instance, start, crashed)
      .when(crashed)
      .thenRejected('INSTANCE_CRASHED', /is crashed since/);
  });
});

describe('instanceDeadlines', () => {
  const ctx = given(instance, start).state.snapshot.context;
  it('only a running instance has one', () => {
    expect(instanceDeadlines('running', ctx)).toEqual([{ verb: 'heartbeatMissed', at: at(3 * HB) }]);
    for (const v of ['absent', 'stopped', 'crashed', 'recovered']) expect(instanceDeadlines(v, ctx)).toEqual([]);
  });
});

describe('instance: model paths (xstate/graph)', () => {
  const atIso = (st: Step): Step => ({ ...st, at: typeof st.at === 'number' ? at(st.at) : st.at });
  const steps = [
    start,
    s('heartbeat', {}, 1_000),
    s('heartbeatMissed', {}, 1_000), // not due: refused wherever it comes
    s('heartbeatMissed', {}, 60_000),
    s('stop', {}, 2_000),
    crashed,
    recovered,
  ].map(atIso);
  const events = steps.map(({ verb, data, at: when, by }) => {
    const [kind, id] = String(by).split(':');
    return { type: verb, data, at: when, actor: { kind, id } as Actor } as InstanceEvent;
  });
  const model = createTestModel(instanceMachine, {
    events,
    serializeState: (snap) => JSON.stringify((snap as AnyMachineSnapshot).value),
  });
  const stepsOf = (p: { steps: { event: { type: string } }[] }) =>
    p.steps.filter((x) => x.event.type !== 'xstate.init').map((x) => steps[events.indexOf(x.event as InstanceEvent)]!);

  it('models every event the machine takes', () =>
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      [...instanceMachine.events].filter((t) => !t.startsWith('xstate.')).sort(),
    ));

  it('every state is reached along paths decide() accepts; recovered always after crashed', () => {
    const paths = model.getSimplePaths();
    const visited = new Set(paths.flatMap((p) => p.steps.map((x) => String(x.state.value))));
    expect([...visited].sort()).toEqual(Object.keys(instanceMachine.root.states).sort());
    for (const p of paths) {
      const history = stepsOf(p);
      expect(given(instance, ...history).state.snapshot.value).toEqual(p.state.value);
      // The early heartbeatMissed never leads anywhere: only the one after the deadline crashes it.
      expect(history.some((x) => x.verb === 'heartbeatMissed' && x.at === at(1_000))).toBe(false);
      if (p.state.value === 'recovered') expect(['crashed', 'heartbeatMissed']).toContain(history.at(-2)?.verb);
    }
    const ends = new Set(paths.map((p) => `${p.state.value}<-${stepsOf(p).at(-2)?.verb}`));
    expect(ends).toContain('recovered<-crashed');
    expect(ends).toContain('recovered<-heartbeatMissed');
  });
});
