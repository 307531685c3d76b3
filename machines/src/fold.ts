import { createActor, initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { TetherError, type EventEnvelope } from '@tether/contracts';
import type { EntityDefinition } from './entity.ts';

/** The event a machine receives for an envelope: the verb, its data, when and by whom. */
export function machineEvent(e: Pick<EventEnvelope, 'type' | 'entity' | 'at' | 'actor' | 'data'>) {
  return { type: e.type.slice(e.entity.length + 1), at: e.at, actor: e.actor, data: e.data };
}

export type MachineEvent = ReturnType<typeof machineEvent>;

export function initialSnapshot(def: EntityDefinition): AnyMachineSnapshot {
  return initialTransition(def.machine)[0] as AnyMachineSnapshot;
}

/** Restores a snapshot saved as {value, context}. */
export function restoreSnapshot(def: EntityDefinition, value: unknown, context: unknown): AnyMachineSnapshot {
  return def.machine.resolveState({ value: value as never, context: context as never }) as AnyMachineSnapshot;
}

/**
 * Applies one persisted event. A stored event the machine refuses means the machine changed
 * incompatibly. With a `scope` (see replayScope) a long fold skips building a throwaway actor per event.
 */
export function applyEvent(
  def: EntityDefinition,
  snapshot: AnyMachineSnapshot,
  e: EventEnvelope,
  scope?: ReplayScope,
): AnyMachineSnapshot {
  const ev = machineEvent(e);
  if (!snapshot.can(ev)) {
    throw new TetherError(
      'INTERNAL',
      `replay of ${e.entity} ${e.entityId} stopped at seq ${e.seq}: the machine no longer accepts ${e.type} in state ${JSON.stringify(snapshot.value)}`,
    );
  }
  if (scope) return def.machine.transition(snapshot, ev as never, scope as never) as AnyMachineSnapshot;
  return transition(def.machine, snapshot, ev)[0] as AnyMachineSnapshot;
}

/** An inert actor scope (opaque here: xstate's own type is internal). */
export interface ReplayScope {
  readonly self: unknown;
  readonly system: unknown;
}

/**
 * What xstate's `transition()` builds for every call (its internal inert actor scope), built once
 * per actor: actions are resolved into the snapshot but never executed, nothing is started, and
 * the actor has its own system, as a live actor would. Pure machines give identical snapshots
 * (the benchmark and the rebuild tests compare them with the plain path).
 */
export function replayScope(machine: AnyStateMachine): ReplayScope {
  const self = createActor(machine);
  const noop = () => {};
  const scope = {
    self,
    system: self.system,
    id: '',
    sessionId: '',
    defer: noop,
    logger: noop,
    stopChild: noop,
    emit: noop,
    actionExecutor: noop,
  };
  return scope;
}
