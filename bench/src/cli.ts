import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NatsServer, TETHER_BIN, gitRepo } from '@tether/tests';
import { startTether } from './tether-server.ts';
import { log } from './timing.ts';

export interface CliResults {
  bareNodeMs: number;
  cliHelpMs: number;
  cliCommandMs: number;
  cliHelpVsNodeRatio: number;
  cliCommandVsNodeRatio: number;
  cliRuns: number;
}

export const CLI_GOALS = { cliHelpVsNodeRatio: 2.5, cliCommandVsNodeRatio: 4 } as const;

const run = promisify(execFile);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Wall time of one process from spawn to exit; a failing run fails the bench rather than flatter it. */
async function wallMs(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  await run(process.execPath, args, { env });
  return performance.now() - t0;
}

/**
 * `tether --help` and `tether lane list` (against a running tether) against a bare `node -e 0`, median of
 * `runs` each, interleaved so drift on the machine hits all three alike.
 */
export async function measureCli(natsUrl: string, runs = 10): Promise<CliResults> {
  const tether = await startTether(natsUrl, { TETHER_WORKSPACES: `bench=${await gitRepo()}` }, 'tether-bench-cli-');
  try {
    const env = {
      ...process.env,
      TETHER_URL: tether.url,
      TETHER_TOKEN: await tether.token(),
      TETHER_WORKSPACE: 'bench',
    };
    const cases = { node: ['-e', '0'], help: [TETHER_BIN, '--help'], command: [TETHER_BIN, 'lane', 'list'] };
    const ms = { node: [] as number[], help: [] as number[], command: [] as number[] };
    log(`cli: ${runs} runs each of node -e 0, tether --help, tether lane list`);
    for (const args of Object.values(cases)) await wallMs(args, env); // warm the file cache
    for (let i = 0; i < runs; i++)
      for (const [name, args] of Object.entries(cases)) ms[name as keyof typeof ms].push(await wallMs(args, env));
    const [node, help, command] = [median(ms.node), median(ms.help), median(ms.command)];
    return {
      bareNodeMs: node,
      cliHelpMs: help,
      cliCommandMs: command,
      cliHelpVsNodeRatio: help / node,
      cliCommandVsNodeRatio: command / node,
      cliRuns: runs,
    };
  } finally {
    await tether.stop();
  }
}

/** The CLI lines of the bench table. */
export function cliLines(r: Record<string, unknown>): string[] {
  if (typeof r.cliHelpVsNodeRatio !== 'number') return [];
  const c = r as unknown as CliResults;
  const line = (what: string, ms: number, ratio: number, goal: number) =>
    `  ${what}: median ${ms.toFixed(0)} ms = ${ratio.toFixed(2)}× bare node (goal ≤ ${goal}, ${ratio <= goal ? 'met' : 'NOT MET'})`;
  return [
    '',
    `CLI (median of ${c.cliRuns}; bare \`node -e 0\` ${c.bareNodeMs.toFixed(0)} ms in the same run):`,
    line('tether --help', c.cliHelpMs, c.cliHelpVsNodeRatio, CLI_GOALS.cliHelpVsNodeRatio),
    line('tether lane list', c.cliCommandMs, c.cliCommandVsNodeRatio, CLI_GOALS.cliCommandVsNodeRatio),
  ];
}

/** `npm run bench:cli`: this section alone, with its own nats-server; prints its figures, writes nothing. */
export async function benchCliAlone(): Promise<void> {
  const nats = await NatsServer.start();
  try {
    const r = await measureCli(nats.url);
    process.stdout.write(`${cliLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await nats.dispose();
  }
}
