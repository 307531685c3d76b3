import type { Out } from './output.ts';

// The shape of the command table (command-table.ts), apart from it: the completion script reads
// these types and is handed the table, so the table's lazy import of it makes no cycle.

/** Parsed flags by their long name (`entity-id`, `follow`); `json` is always there; a whole-number flag is a number. */
export type Flags = Record<string, string | number | boolean | undefined>;
/** The values a whole-number flag takes (`--port`: 0 to 65535); anything else is refused before the command runs. */
export interface WholeNumber {
  readonly min: number;
  readonly max?: number;
}
/** A flag as commander spells it (`--name <name>`, `--live`, `--no-follow`), its help line, and its range if numeric. */
export type Flag = readonly [spec: string, help: string, whole?: WholeNumber];
/** An argument as commander spells it (`<lane-id>`, `[name]`), or one with its allowed values. */
export type Arg = string | { readonly spec: string; readonly choices: readonly string[] };

export interface Leaf {
  readonly summary: string;
  readonly args?: readonly Arg[];
  readonly flags?: readonly Flag[];
  run(out: Out, args: (string | undefined)[], flags: Flags): Promise<number>;
}
export interface Group {
  readonly summary: string;
  /** Flags every subcommand takes. */
  readonly flags?: readonly Flag[];
  readonly subcommands: Readonly<Record<string, Leaf>>;
  /** What the group does with no subcommand (`tether share --new`); without it, it asks for one. */
  readonly bare?: Leaf;
}
export type Entry = Leaf | Group;

export const isGroup = (e: Entry): e is Group => 'subcommands' in e;
