import type { AnyStateMachine } from 'xstate';
import type { EntityContract } from '@tether/contracts';
import { checkTable, type RejectionTable } from './rejections.ts';

/** A deadline kept in an actor's context; the timer service sends `verb` when it passes. */
export interface Deadline {
  verb: string;
  at: string;
}

/** Everything the runtime needs to host one kind of entity. */
export interface EntityDefinition {
  name: string;
  machine: AnyStateMachine;
  contract: EntityContract;
  /** Deadlines in the actor's context, armed by the timer service. */
  // biome-ignore lint/suspicious/noExplicitAny: each machine's deadlines read its own context type.
  deadlines?: (value: unknown, context: any) => Deadline[];
  /** Why the machine refuses, by guard and by state; a generic reason is used where it says nothing. */
  // biome-ignore lint/suspicious/noExplicitAny: each table is typed by its machine's context where it is written.
  rejections?: RejectionTable<any>;
}

export function defineEntity(def: EntityDefinition): EntityDefinition {
  checkTable(def.name, def.machine, def.rejections);
  return def;
}
