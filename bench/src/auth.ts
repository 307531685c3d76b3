import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsServer } from '@tether/tests';
import { startBareHost } from './bare-host.ts';
import { measureCommands } from './commands.ts';
import { log } from './timing.ts';

// authOverheadPct: awaited commands with credentials (a real token verified on every command) against
// the same bare host taking them unchecked, alternating, in the same run. Goal: under 5 %.

export const AUTH_GOAL_PCT = 5;
const ROUNDS = 3;
const RUN = { awaited: 1_500, pipelined: 2_000, window: 64, awaitedEntities: 100, pipelinedEntities: 200 };

export interface AuthResults {
  authOverheadPct: number;
  authAwaitedPerSec: number;
  uncheckedAwaitedPerSec: number;
}

export async function measureAuthOverhead(natsUrl: string): Promise<AuthResults> {
  const nc = await connect({ servers: natsUrl, name: 'bench-auth' });
  const jsm = await jetstreamManager(nc);
  const rates = { checked: [] as number[], unchecked: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++)
      for (const auth of [true, false]) {
        const host = await startBareHost(natsUrl, { auth });
        try {
          const r = await measureCommands(nc, jsm, { ...RUN, pids: { host: host.pid }, credential: host.credential });
          rates[auth ? 'checked' : 'unchecked'].push(r.commandsPerSec);
        } finally {
          await host.stop();
        }
      }
  } finally {
    await nc.close();
  }
  // The best round of each: the least disturbed by whatever else the machine was doing.
  const checked = Math.max(...rates.checked);
  const unchecked = Math.max(...rates.unchecked);
  const authOverheadPct = Math.round((unchecked / checked - 1) * 1000) / 10;
  log(`auth: ${checked.toFixed(0)}/s with credentials, ${unchecked.toFixed(0)}/s without: ${authOverheadPct}%`);
  return { authOverheadPct, authAwaitedPerSec: Math.round(checked), uncheckedAwaitedPerSec: Math.round(unchecked) };
}

/** The auth line of the bench table. */
export function authLines(r: Record<string, unknown>): string[] {
  if (typeof r.authOverheadPct !== 'number') return [];
  const a = r as unknown as AuthResults;
  return [
    '',
    'identity:',
    `  authOverheadPct ${a.authOverheadPct}% (awaited ${a.authAwaitedPerSec}/s with credentials vs ${a.uncheckedAwaitedPerSec}/s without; goal < ${AUTH_GOAL_PCT}%, ${a.authOverheadPct < AUTH_GOAL_PCT ? 'met' : 'NOT MET'})`,
  ];
}

/** `npm run bench:auth`: this section alone, with its own nats-server; its figures go into bench/results.json. */
export async function benchAuthAlone(): Promise<void> {
  const nats = await NatsServer.start();
  try {
    const r = await measureAuthOverhead(nats.url);
    const file = fileURLToPath(new URL('../results.json', import.meta.url));
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, `${JSON.stringify({ ...results, ...r }, null, 2)}\n`);
    process.stdout.write(`${authLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await nats.dispose();
  }
}
