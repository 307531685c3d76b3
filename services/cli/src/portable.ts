// tether.mjs: `tether attach` in one file that needs only Node (20 or later). A running tether serves it at
// /tether.mjs, so anyone with a link can attach from any machine:
//   curl -fsS http://host:7420/tether.mjs -o /tmp/tether.mjs && node /tmp/tether.mjs attach '<link>'
import { TetherError } from '@tether/contracts/tether-error';
import { attach } from './commands/attach.ts';
import { output, printError, usageError } from './output.ts';

const USAGE = `usage: node tether.mjs attach '<share link>' [--json]

Watch (and, once granted, type into) a terminal shared with tether; Ctrl-] detaches.
This file holds only \`tether attach\`; the whole CLI comes with tether itself.`;

async function portable(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const words = argv.filter((a) => a !== '--json');
  if (words.length === 0 || words[0] === '--help' || words[0] === '-h' || words[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return words.length === 0 ? 2 : 0;
  }
  if (words[0] !== 'attach' || words.length !== 2)
    return usageError(
      words[0] === 'attach'
        ? `attach takes one share link, in quotes: node tether.mjs attach '<share link>'`
        : `this tether.mjs only attaches ("${words[0]}" is not attach); usage: node tether.mjs attach '<share link>'`,
      json,
    );
  try {
    return await attach(output(json), words[1]);
  } catch (err) {
    return printError(err instanceof Error ? err : new TetherError('INTERNAL', String(err)), json);
  }
}

process.exitCode = await portable(process.argv.slice(2));
