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
  const what = reason.message
    .replace(/^error: /, '')
    .replace(/\.$/, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}; see \`${path} --help\``;
}
