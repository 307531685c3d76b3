import type { NatsConnection } from '@nats-io/nats-core';
import type { JetStreamManager } from '@nats-io/jetstream';
import { STREAM_EVENTS, type CommandReply } from '@tether/contracts';
import { sendCommand } from '@tether/runtime';
import { TTL_MS, entityIds } from './envelope.ts';
import { cpuMeter } from './cpu.ts';
import { log, oneAtATime, percentile, rate, windowed } from './timing.ts';

// Tether's own path: client → NATS request → `tether up` (validate, transition, JetStream append) → reply.

function accepted(r: CommandReply, what: string): void {
  if (!r.ok) throw new Error(`${what} was rejected: ${r.error.code} ${r.error.message}`);
}

const create = (nc: NatsConnection, credential: string, entityId: string) =>
  sendCommand(
    nc,
    'lease',
    'create',
    { entityId, data: { holder: `holder-${entityId}`, ttlMs: TTL_MS } },
    { credential },
  ).then((r) => accepted(r, `lease.create ${entityId}`));
const renew = (nc: NatsConnection, credential: string, entityId: string) =>
  sendCommand(nc, 'lease', 'renew', { entityId }, { credential }).then((r) => accepted(r, `lease.renew ${entityId}`));

export interface CommandRunOptions {
  awaited: number;
  pipelined: number;
  window: number;
  /** Leases the awaited renews go round-robin over. */
  awaitedEntities: number;
  /** Leases the pipelined renews go round-robin over. */
  pipelinedEntities: number;
  pids: Record<string, number | undefined>;
  /** Durable consumer whose lag is reported after the pipelined run (the projection of `tether up`). */
  lagOf?: string;
  /** The token every command carries (Tether-Credential). */
  credential: string;
}

/** Awaited then pipelined lease.renew commands against whatever serves tether.cmd.> (one `tether up`). */
export async function measureCommands(nc: NatsConnection, jsm: JetStreamManager, o: CommandRunOptions) {
  const few = entityIds('aw', o.awaitedEntities);
  const many = entityIds('pl', o.pipelinedEntities);
  log(`creating ${few.length + many.length} leases`);
  await windowed(few.length, 16, (i) => create(nc, o.credential, few[i]!));
  await windowed(many.length, o.window, (i) => create(nc, o.credential, many[i]!));

  log(`awaited renews: warm-up, then ${o.awaited}`);
  await oneAtATime(300, (i) => renew(nc, o.credential, few[i % few.length]!));
  let cpu = cpuMeter(o.pids);
  const awaited = await oneAtATime(o.awaited, (i) => renew(nc, o.credential, few[i % few.length]!));
  const awaitedCpuMicros = cpu.microsPerOp(o.awaited);

  log(`pipelined renews (${o.window} in flight): warm-up, then ${o.pipelined}`);
  await windowed(2_000, o.window, (i) => renew(nc, o.credential, many[i % many.length]!));
  cpu = cpuMeter(o.pids);
  const pipelinedMs = await windowed(o.pipelined, o.window, (i) => renew(nc, o.credential, many[i % many.length]!));
  const pipelinedCpuMicros = cpu.microsPerOp(o.pipelined);
  const projectionLag = o.lagOf ? await lag(jsm, o.lagOf) : undefined;

  return {
    commandsPerSec: rate(o.awaited, awaited.ms),
    commandP50Ms: percentile(awaited.latencies, 50),
    commandP99Ms: percentile(awaited.latencies, 99),
    pipelinedCommandsPerSec: rate(o.pipelined, pipelinedMs),
    awaitedCpuMicros,
    pipelinedCpuMicros,
    /** Events the named consumer (the actors projection) had not applied when the pipelined run ended. */
    lagAfterPipelined: projectionLag,
  };
}

async function lag(jsm: JetStreamManager, consumer: string): Promise<number | undefined> {
  try {
    const ci = await jsm.consumers.info(STREAM_EVENTS, consumer);
    return ci.num_pending + ci.num_ack_pending;
  } catch {
    return undefined;
  }
}
