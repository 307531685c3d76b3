import { Argument, Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { COMMANDS, isGroup, type Flag, type Flags, type Leaf, type WholeNumber } from './command-table.ts';

const ENVIRONMENT = `
Environment: NATS_URL, TETHER_HOME (default ./.tether), TETHER_PORT, TETHER_URL, TETHER_WORKSPACE,
TETHER_TOKEN (your credential; default the owner's, which \`tether up\` keeps in $TETHER_HOME/credential).`;

/** Parsing ended before any command ran: help or the version was printed, or `command` was used wrongly. */
export class ParseStop extends Error {
  constructor(
    readonly reason: CommanderError,
    readonly command: Command,
  ) {
    super(reason.message);
  }
}

export type RunLeaf = (leaf: Leaf, args: (string | undefined)[], flags: Flags) => Promise<void>;

/** The commander program for the command table; a command's module is loaded only in `run`. */
export function buildProgram(version: string, run: RunLeaf): Command {
  const program = configure(new Command('tether'))
    .description('tether: control plane for terminals shared between humans and AI agents')
    .version(version, '-v, --version', 'print the version')
    .option('--json', 'print JSON (errors too, on stderr)')
    .addHelpText('after', ENVIRONMENT);
  for (const [name, entry] of Object.entries(COMMANDS)) {
    if (!isGroup(entry)) {
      addLeaf(program, name, entry, [], run);
      continue;
    }
    const subs = Object.keys(entry.subcommands);
    const group = configure(program.command(name))
      .description(entry.summary)
      .summary(`${entry.summary} (${subs.join(', ')})`);
    for (const [sub, leaf] of Object.entries(entry.subcommands)) addLeaf(group, sub, leaf, entry.flags ?? [], run);
    // The bare form's flags are the group's own: read before a subcommand only, so `share create --name` stays create's.
    if (entry.bare) withLeaf(group.enablePositionalOptions(), entry.bare, entry.flags ?? [], run);
  }
  return program;
}

function addLeaf(parent: Command, name: string, leaf: Leaf, shared: readonly Flag[], run: RunLeaf) {
  withLeaf(configure(parent.command(name)).description(leaf.summary), leaf, shared, run);
}

/** Gives `cmd` the leaf's arguments, flags and action. */
function withLeaf(cmd: Command, leaf: Leaf, shared: readonly Flag[], run: RunLeaf) {
  for (const a of leaf.args ?? [])
    cmd.addArgument(typeof a === 'string' ? new Argument(a) : new Argument(a.spec).choices(a.choices));
  for (const [spec, help, whole] of [...shared, ...(leaf.flags ?? [])]) {
    const option = new Option(spec, help);
    if (whole) option.argParser(wholeNumber(option.long!, whole));
    cmd.addOption(option);
  }
  cmd.action(() => run(leaf, cmd.processedArgs, flagsOf(cmd)));
}

/** What a whole-number flag takes, in words: "a whole number from 1 to 65535". */
export const wholeNumberText = ({ min, max }: WholeNumber) =>
  `a whole number ${max === undefined ? `of at least ${min}` : `from ${min} to ${max}`}`;

/** Checks a numeric flag while parsing, so a bad one stops the command before it opens anything. */
function wholeNumber(flag: string, range: WholeNumber) {
  return (text: string): number => {
    const n = Number(text);
    if (/^\d+$/.test(text) && n >= range.min && n <= (range.max ?? Number.MAX_SAFE_INTEGER)) return n;
    throw new InvalidArgumentError(`${flag} takes ${wholeNumberText(range)}, got ${JSON.stringify(text)}`);
  };
}

/** Commander reports instead of exiting or printing, so every mistake becomes a TetherError (see main). */
function configure(cmd: Command): Command {
  return cmd
    .exitOverride((reason) => {
      throw new ParseStop(reason, cmd);
    })
    .configureOutput({ writeErr: () => undefined })
    .configureHelp({ showGlobalOptions: true, visibleGlobalOptions: programOptions })
    .showSuggestionAfterError(true);
}

/** A subcommand's help lists the program's options (--json, --version), not a group's own (`share --new`). */
function programOptions(cmd: Command) {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root === cmd ? [] : root.options.filter((o) => !o.hidden);
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** Flags by their long name, as the command modules read them (`entity-id`, not `entityId`). */
const flagsOf = (cmd: Command): Flags =>
  Object.fromEntries(Object.entries(cmd.optsWithGlobals()).map(([k, v]) => [kebab(k), v]));

export const commandPath = (cmd: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};
