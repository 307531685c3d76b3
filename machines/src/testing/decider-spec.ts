import { expect } from 'vitest';
import type { Actor, EventEnvelope } from '@tether/contracts';
import { decide, isRefusal, type ActorState, type Decision } from '../decide.ts';
import type { Deadline, EntityDefinition } from '../entity.ts';
import { initialSnapshot } from '../fold.ts';

/** Every spec's clock starts here; `at(ms)` is that many milliseconds later. */
export const T0 = '2026-01-01T00:00:00.000Z';
export const MIN = 60_000;
export const at = (ms = 0) => new Date(Date.parse(T0) + ms).toISOString();

/** One command of a spec: a verb, its data, when (ms after T0, or ISO) and by whom ("kind:id"; human:ann by default). */
export interface Step {
  verb: string;
  data?: Record<string, unknown>;
  at?: number | string;
  by?: Actor | `${Actor['kind']}:${string}`;
}

/** `cmd('renew', { ttlMs }, { at: 5_000, by: 'ai:agent' })`: a step with plain defaults. */
export const cmd = (
  verb: string,
  data: Record<string, unknown> = {},
  opts: Omit<Step, 'verb' | 'data'> = {},
): Step => ({
  verb,
  data,
  ...opts,
});

const actorOf = (by: Step['by'] = 'human:ann'): Actor => {
  if (typeof by !== 'string') return by;
  const [kind, ...id] = by.split(':');
  return { kind: kind as Actor['kind'], id: id.join(':') };
};

/** What an accepted command should lead to; every field is optional. */
export interface Expected {
  state?: string;
  /** Whether the entity has reached a final state and takes nothing more. */
  final?: boolean;
  /** Checked with toMatchObject: name only what the spec is about. */
  context?: Record<string, unknown>;
  deadlines?: Deadline[];
  event?: Partial<EventEnvelope>;
}

/**
 * `given(lease, cmd('create', …)).when('renew', {}, { at: 5_000 }).then({ context: … })` or
 * `.thenRejected('LEASE_EXPIRED', /renew is not possible/)`: a decider spec in the shape of Emmett's.
 * The given steps go through decide() as well, so a spec cannot start from a history the entity refuses.
 */
/** The data as the host would hand it on: parsed by the verb's contract (an unknown verb passes through). */
function verbData(def: EntityDefinition, verb: string, data: Record<string, unknown> = {}): Record<string, unknown> {
  const contract = Object.hasOwn(def.contract, verb) ? def.contract[verb] : undefined;
  return contract ? (contract.data.parse(data) as Record<string, unknown>) : data;
}

export function given(def: EntityDefinition, ...history: (Step | string)[]) {
  const entityId = `${def.name}-1`;
  let n = 0;
  const run = (actor: ActorState, s: Step | string): Decision => {
    const step = typeof s === 'string' ? { verb: s } : s;
    n++;
    const when = typeof step.at === 'string' ? step.at : at(step.at);
    const command = {
      id: `cmd-${n}`,
      entity: def.name,
      verb: step.verb,
      entityId,
      // As the host does: the verb's contract validates the data and fills its defaults.
      data: verbData(def, step.verb, step.data),
      actor: actorOf(step.by),
      correlationId: `corr-${n}`,
      causationId: `cause-${n}`,
    };
    return decide(def, actor, command, { at: when, eventId: `evt-${n}` });
  };
  let state: ActorState = { snapshot: initialSnapshot(def), version: 0 };
  for (const s of history) {
    const d = run(state, s);
    if (isRefusal(d)) throw new Error(`given: ${JSON.stringify(s)} was refused (${d.reason ?? d.code}): ${d.message}`);
    state = { snapshot: d.next, version: d.event.seq };
  }
  return {
    /** The state the history leads to. */
    state,
    when: (step: Step | string, data?: Record<string, unknown>, opts?: Omit<Step, 'verb' | 'data'>) => {
      const decision = run(state, typeof step === 'string' ? cmd(step, data, opts) : step);
      const accepted = () => {
        if (isRefusal(decision)) throw new Error(`refused (${decision.reason ?? decision.code}): ${decision.message}`);
        return decision;
      };
      return {
        decision,
        // biome-ignore lint/suspicious/noThenProperty: given/when/then is the spec's shape; nothing awaits a spec.
        then: (expected: Expected | string) => {
          const { event, next } = accepted();
          const want = typeof expected === 'string' ? { state: expected } : expected;
          if (want.state !== undefined) expect(next.value).toEqual(want.state);
          if (want.final !== undefined) expect(next.status === 'done').toBe(want.final);
          if (want.context) expect(next.context).toMatchObject(want.context);
          if (want.deadlines) expect(def.deadlines?.(next.value, next.context) ?? []).toEqual(want.deadlines);
          if (want.event) expect(event).toMatchObject(want.event);
        },
        thenRejected: (reason: string, message?: RegExp | string) => {
          expect(isRefusal(decision) ? (decision.reason ?? decision.code) : 'accepted').toBe(reason);
          if (message && isRefusal(decision)) expect(decision.message).toMatch(message);
        },
      };
    },
  };
}
