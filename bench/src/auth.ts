import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { Authenticator, mintToken, sendCommand } from '@tether/runtime';
import { NatsServer } from '@tether/tests';
import { UNCHECKED, startBareHost } from './bare-host.ts';
import { log, rate } from './timing.ts';

// authOverheadPct: awaited commands with credentials (a real token verified on every command) against
// the same bare host taking them unchecked, in interleaved blocks of the same run. Goal: under 5 %.

export const AUTH_GOAL_PCT = 5;
const ROUNDS = 60;
const BLOCK = 150;
const ENTITIES = 100;

export interface AuthResults {
  authOverheadPct: number;
  authAwaitedPerSec: number;
  uncheckedAwaitedPerSec: number;
  /** One credential check in-process, µs (a cached credential: the common case). */
  authVerifyMicros: number;
}

/** What checking one credential costs in-process (parse, cached read, sha256, compare), in µs. */
export async function verifyMicros(): Promise<number> {
  const id = randomUUID();
  const { token, hash } = mintToken(id);
  const context = {
    actor: { kind: 'service', id: 'bench' },
    role: 'operator',
    purpose: 'token',
    hash,
    issuedBy: { kind: 'system', id: 'bench' },
    issuedAt: new Date().toISOString(),
  };
  const host = { state: async () => ({ value: 'active', context }), onApplied: () => {} };
  const auth = new Authenticator(host as unknown as ConstructorParameters<typeof Authenticator>[0]);
  await auth.verify(token);
  const n = 100_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await auth.verify(token);
  return Math.round(((performance.now() - t0) * 1000 * 100) / n) / 100;
}

export async function measureAuthOverhead(natsUrl: string): Promise<AuthResults> {
  const nc = await connect({ servers: natsUrl, name: 'bench-auth' });
  const host = await startBareHost(natsUrl, { auth: true });
  // The same host, the same leases, interleaved blocks: what differs is only whether the credential is checked.
  const ms = { checked: 0, unchecked: 0 };
  try {
    const leases = Array.from({ length: ENTITIES }, () => `auth-${randomUUID()}`);
    const send = (verb: string, entityId: string, credential: string, data: Record<string, unknown> = {}) =>
      sendCommand(nc, 'lease', verb, { entityId, data }, { credential }).then((r) => {
        if (!r.ok) throw new Error(`lease.${verb} ${entityId}: ${r.error.code} ${r.error.message}`);
      });
    for (const id of leases) await send('create', id, host.credential, { holder: 'bench', ttlMs: 3_600_000 });
    let i = 0;
    const block = async (credential: string) => {
      const t0 = performance.now();
      for (let k = 0; k < BLOCK; k++) await send('renew', leases[i++ % leases.length]!, credential);
      return performance.now() - t0;
    };
    await block(host.credential); // warm-up
    await block(UNCHECKED);
    // Alternating which goes first, so a machine that gets busier favours neither.
    for (let round = 0; round < ROUNDS; round++)
      for (const checked of round % 2 ? [false, true] : [true, false])
        ms[checked ? 'checked' : 'unchecked'] += await block(checked ? host.credential : UNCHECKED);
  } finally {
    await host.stop();
    await nc.close();
  }
  const n = ROUNDS * BLOCK;
  const authOverheadPct = Math.round((ms.checked / ms.unchecked - 1) * 1000) / 10;
  const authVerifyMicros = await verifyMicros();
  const [checked, unchecked] = [rate(n, ms.checked), rate(n, ms.unchecked)];
  log(
    `auth: ${checked.toFixed(0)}/s with credentials, ${unchecked.toFixed(0)}/s without: ${authOverheadPct}% (verify ${authVerifyMicros} µs)`,
  );
  return {
    authOverheadPct,
    authAwaitedPerSec: Math.round(checked),
    uncheckedAwaitedPerSec: Math.round(unchecked),
    authVerifyMicros,
  };
}

/** The auth line of the bench table. */
export function authLines(r: Record<string, unknown>): string[] {
  if (typeof r.authOverheadPct !== 'number') return [];
  const a = r as unknown as AuthResults;
  return [
    '',
    'identity:',
    `  authOverheadPct ${a.authOverheadPct}% (awaited ${a.authAwaitedPerSec}/s with credentials vs ${a.uncheckedAwaitedPerSec}/s without, ${ROUNDS} interleaved blocks each; goal < ${AUTH_GOAL_PCT}%, ${a.authOverheadPct < AUTH_GOAL_PCT ? 'met' : 'NOT MET'}); one check in-process ${a.authVerifyMicros} µs`,
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
