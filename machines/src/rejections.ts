import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { Actor } from '@tether/contracts';

/** Why a machine refused an event, in words an operator can act on. */
export interface Rejection {
  /** Machine-specific code, e.g. LEASE_RELEASED. */
  reason: string;
  message: string;
}

/** What a reason is written from: the entity, its state and context, and the refused event. */
export interface ReasonInput<Ctx = unknown> {
  id: string;
  state: string;
  context: Ctx;
  // biome-ignore lint/suspicious/noExplicitAny: the event's data is the verb's, already validated by its contract.
  event: { type: string; at: string; actor: Actor; data: any };
}

export type Reason<Ctx = unknown> = (r: ReasonInput<Ctx>) => Rejection;

/**
 * A machine's reasons for refusing, by guard name and by state. `guards` speaks for a guard that
 * returned false (the machine's own guard, so reason and rule cannot drift); `states` speaks when the
 * state has no transition for the event at all: one reason for every event, or one per event type
 * with '*' for the rest. Guards without an entry only choose between branches.
 */
export interface RejectionTable<Ctx = unknown> {
  guards?: Record<string, Reason<Ctx>>;
  states?: Record<string, Reason<Ctx> | Record<string, Reason<Ctx>>>;
}

type Guard = unknown;
type Args = { context: unknown; event: unknown; snapshot: AnyMachineSnapshot };
/** A guard built by xstate's `and()`, `or()` or `not()`: its parts are in `guards`, its logic in `check`. */
type Composite = ((...a: never[]) => unknown) & {
  guards: readonly Guard[];
  check: (s: AnyMachineSnapshot, a: unknown, g: unknown) => boolean;
};
type Outcome = { name: string; ok: boolean; passed: number };

const isComposite = (g: Guard): g is Composite => typeof g === 'function' && 'check' in g && 'guards' in g;

/** Whether one guard passes, by name; the parts of an `and()` are walked one by one so each can speak. */
function check(machine: AnyStateMachine, guard: Guard, args: Args): Outcome {
  if (isComposite(guard)) {
    if (guard.name === 'and') return firstFailing(machine, guard.guards, args);
    return { name: guard.name, ok: guard.check(args.snapshot, args, guard), passed: 0 };
  }
  if (typeof guard === 'function') return { name: guard.name, ok: !!guard(args), passed: 0 };
  const { type, params } = typeof guard === 'string' ? { type: guard, params: undefined } : (guard as never);
  const impl = machine.implementations.guards[type] as Guard;
  if (isComposite(impl)) return { ...check(machine, impl, args), ...(impl.name === 'and' ? {} : { name: type }) };
  return { name: type, ok: !!(impl as (a: unknown, p: unknown) => unknown)(args, params), passed: 0 };
}

/** Walks guards in order: the first that fails, and how many passed before it. */
function firstFailing(machine: AnyStateMachine, guards: readonly Guard[], args: Args): Outcome {
  let passed = 0;
  for (const g of guards) {
    const part = check(machine, g, args);
    if (!part.ok) return { ...part, passed: passed + part.passed };
    passed++;
  }
  return { name: '', ok: true, passed };
}

/** The transitions the active state (and its ancestors) offer for an event type. */
function candidates(snapshot: AnyMachineSnapshot, type: string) {
  const out = [];
  for (const node of activeNodes(snapshot.machine.root, snapshot.value))
    out.push(...(node.transitions.get(type) ?? []));
  return out;
}

function activeNodes(node: AnyStateMachine['root'], value: unknown): AnyStateMachine['root'][] {
  if (typeof value === 'string') return [node.states[value]!, node];
  const nested = Object.entries((value ?? {}) as Record<string, unknown>);
  return [...nested.flatMap(([k, v]) => activeNodes(node.states[k]!, v)), node];
}

/**
 * Why `snapshot` refuses `event`, from the machine's table: of the transitions for the event, the
 * one whose guards got furthest before one failed names the reason; with no transition for the
 * event here, the state's entry does. Undefined when the table has nothing to say.
 */
export function explain(
  table: RejectionTable | undefined,
  snapshot: AnyMachineSnapshot,
  refused: Omit<ReasonInput, 'state' | 'context'>,
): Rejection | undefined {
  const state = typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value);
  const r: ReasonInput = { ...refused, state, context: snapshot.context };
  const args = { context: snapshot.context, event: refused.event, snapshot };
  const failures = candidates(snapshot, refused.event.type)
    .filter((t) => t.guard !== undefined)
    .map((t) => firstFailing(snapshot.machine, [t.guard], args))
    .filter((f) => !f.ok);
  const furthest = failures.reduce<(typeof failures)[number] | undefined>(
    (best, f) => (!best || f.passed > best.passed ? f : best),
    undefined,
  );
  const byGuard = furthest && table?.guards?.[furthest.name];
  if (byGuard) return byGuard(r);
  const byState = table?.states?.[r.state];
  if (typeof byState === 'function') return byState(r);
  const byEvent = byState?.[refused.event.type] ?? byState?.['*'];
  return byEvent?.(r);
}

/** Fails at load when a table names a guard or state its machine does not have: a renamed guard cannot leave its reason behind. */
export function checkTable(name: string, machine: AnyStateMachine, table: RejectionTable | undefined) {
  const guards = Object.keys(table?.guards ?? {}).filter((g) => !(g in machine.implementations.guards));
  const states = Object.keys(table?.states ?? {}).filter((s) => !(s in machine.root.states));
  if (guards.length || states.length)
    throw new Error(`${name}: rejections name what the machine lacks: ${[...guards, ...states].join(', ')}`);
}
