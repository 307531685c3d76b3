import type { AnyStateMachine } from 'xstate';
import type { Actor, EntityContract } from '@tether/contracts';

/** A deadline kept in an actor's context; the timer service sends `verb` when it passes. */
export interface Deadline {
  verb: string;
  at: string;
}

export interface Rejection {
  /** Machine-specific code, e.g. LEASE_RELEASED. */
  reason: string;
  message: string;
}

/** Everything the runtime needs to host one kind of entity. */
export interface EntityDefinition {
  name: string;
  machine: AnyStateMachine;
  contract: EntityContract;
  /** Deadlines in the actor's context, armed by the timer service. */
  deadlines?: (value: unknown, context: any) => Deadline[];
  /** Why the machine refused an event in this state; a generic reason is used when undefined. */
  explain?: (
    entityId: string,
    value: unknown,
    context: any,
    event: { type: string; at: string; data?: unknown; actor?: Actor },
  ) => Rejection | undefined;
}

export function defineEntity(def: EntityDefinition): EntityDefinition {
  return def;
}
