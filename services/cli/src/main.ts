import { readFileSync } from 'node:fs';
import type { Flags, Leaf } from './command-table.ts';
import { buildProgram, commandPath, ParseStop } from './program.ts';

const version = (): string =>
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `tether …`: the exit code. Only the command that runs is loaded; help and mistakes load none. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram(version(), async (leaf, args, flags) => {
    code = await runLeaf(leaf, args, flags);
  });
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (!(err instanceof ParseStop)) throw err;
    const { code: why, exitCode } = err.reason;
    if (why === 'commander.helpDisplayed' || why === 'commander.version' || (why === 'commander.help' && !exitCode))
      return 0;
    const { usageError } = await import('./output.ts');
    return usageError(mistake(err), argv.includes('--json'));
  }
}

async function runLeaf(leaf: Leaf, args: (string | undefined)[], flags: Flags): Promise<number> {
  const { output, printError } = await import('./output.ts');
  const json = flags.json === true;
  try {
    return await leaf.run(output(json), args, flags);
  } catch (err) {
    return printError(err, json);
  }
}

/** What was wrong and where to look: "Unknown command 'lnae' (did you mean lane?); see `tether --help`". */
function mistake({ reason, command }: ParseStop): string {
  const path = commandPath(command);
  // "option '--last <n>' argument 'abc' is invalid. --last takes …": the flag's own message says it all.
  if (reason.code === 'commander.invalidArgument' && / is invalid\. --/.test(reason.message))
    return `${reason.message.replace(/^.* is invalid\. /, '')}; see \`${path} --help\``;
  if (reason.code === 'commander.help') {
    const subs = command.commands.map((c) => c.name()).filter((n) => n !== 'help');
    return `\`${path}\` needs a subcommand: ${subs.join(', ')}; see \`${path} --help\``;
  }
  // `tether share bogus`: a group that runs without a subcommand takes no argument, so a word is a wrong subcommand.
  if (reason.code === 'commander.excessArguments' && command.commands.length) {
    const subs = command.commands.map((c) => c.name()).filter((n) => n !== 'help');
    const word = command.args[0] ?? '';
    const near = subs.find((s) => editDistance(s, word) <= 2);
    return `Unknown command '${word}' for '${path}' (${near ? `did you mean ${near}?` : `it takes ${subs.join(', ')}`}); see \`${path} --help\``;
  }
  const what = reason.message
    .replace(/^error: /, '')
    .replace(/\.$/, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}; see \`${path} --help\``;
}

/** Levenshtein distance, for "did you mean": words of a few letters only. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
