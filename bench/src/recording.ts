import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { sendCommand } from '@tether/runtime';
import { NatsServer, gitRepo } from '@tether/tests';
import { cpuMs } from './cpu.ts';
import { startTether, type BenchTether } from './tether-server.ts';
import { log } from './timing.ts';

// The CPU recording costs tether (issue 13): one `tether up`, a terminal printing 1 MB/s for a while,
// measured as tether's process CPU time over that wall time; once for a plain terminal (relayed, not
// recorded) and once for a terminal that is recorded (relayed and recorded), alternating, in the same run.
// The recorded one is a plain terminal too, recorded because it was shared: tether records a terminal from
// a share's start until it closes, so the share is revoked before measuring and only the recorder follows
// it (no share relay's work in the figure). A task run's terminal is spawned by tether's task worker alone.

export interface RecordingResults {
  /** Extra CPU of recording, in % of one core (CPU time over wall time); goal < 5. */
  recordingOverheadPct: number;
  /** tether's CPU while relaying the flood without recording, and with, in % of one core. */
  recordingCpuOffPct: number;
  recordingCpuOnPct: number;
  /** The flood's rate as the terminal printed it. */
  recordingFloodBytesPerSec: number;
  recordingRounds: number;
}

export const RECORDING_GOAL_PCT = 5;
const RATE = 1024 * 1024;
const FLOOD_S = 6;

/** A shell command printing `rate` bytes a second of text lines for `seconds` (node: steady, no pv needed). */
const flood = (rate: number, seconds: number) =>
  `node -e 'const l="x".repeat(99)+"\\n",n=Math.round(${rate}/100/20);let i=0;const t=setInterval(()=>{process.stdout.write(l.repeat(n));if(++i>=${seconds * 20})clearInterval(t)},50)'\r`;

export async function measureRecordingOverhead(natsUrl: string, rounds = 3): Promise<RecordingResults> {
  const tether = await startTether(natsUrl, { TETHER_WORKSPACES: `bench=${await gitRepo()}` }, 'tether-bench-rec-');
  const nc = await connect({ servers: natsUrl, name: 'bench-recording' });
  try {
    const { laneId, sessionId } = await laneAndSession(tether);
    const credential = await tether.token();
    const spawn = async () => {
      const r = await sendCommand(nc, 'terminal', 'spawn', { data: { laneId, sessionId } }, { credential });
      if (!r.ok) throw new Error(`terminal.spawn refused: ${r.error.code} ${r.error.message}`);
      await waitFor(async () => (await terminalState(tether, r.entityId)) === 'active');
      return r.entityId;
    };
    const phase = async (terminalId: string) => {
      nc.publish(`tether.term.${terminalId}.in`, JSON.stringify({ data: flood(RATE, FLOOD_S), from: sessionId }));
      await new Promise((r) => setTimeout(r, 500)); // node starting
      const cpu0 = cpuMs(tether.pid)!;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, (FLOOD_S - 1) * 1000));
      const pct = ((cpuMs(tether.pid)! - cpu0) / (performance.now() - t0)) * 100;
      await new Promise((r) => setTimeout(r, 1_500)); // the flood ends and drains before the next phase
      return pct;
    };
    const off: number[] = [];
    const on: number[] = [];
    const plain = await spawn();
    const recorded = await spawn();
    await recordedAfterShare(tether, recorded, credential);
    log(`recording: ${rounds} rounds of ${FLOOD_S} s at ${RATE / 1024} KiB/s, plain terminal vs recorded one`);
    for (let i = 0; i < rounds; i++) {
      off.push(await phase(plain));
      on.push(await phase(recorded));
    }
    // The recorded terminal really was recorded: it is there, and holds the flood.
    const stored = await waitFor(async () => {
      const res = await fetch(`${tether.url}/v1/recordings/${recorded}`, {
        headers: { authorization: `Bearer ${credential}` },
      });
      const bytes = res.status === 200 ? (await res.arrayBuffer()).byteLength : 0;
      return bytes >= RATE ? bytes : 0;
    }, 60_000).catch(() => {
      throw new Error(
        `the recording of ${recorded} was not stored with the flood in it: ${tether.logs().slice(-2000)}`,
      );
    });
    log(`recording: ${recorded} stored, ${stored} bytes`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const cpuOff = median(off);
    const cpuOn = median(on);
    return {
      recordingOverheadPct: Math.max(0, cpuOn - cpuOff),
      recordingCpuOffPct: cpuOff,
      recordingCpuOnPct: cpuOn,
      recordingFloodBytesPerSec: RATE,
      recordingRounds: rounds,
    };
  } finally {
    await nc.close();
    await tether.stop();
  }
}

async function laneAndSession(tether: BenchTether) {
  const lane = await tether.call<{ lane_id: string }>('POST', '/v1/workspaces/bench/lanes', {
    project_context_id: 'bench',
    display_name: 'recording',
  });
  const session = await tether.call<{ session_id: string }>(
    'POST',
    `/v1/workspaces/bench/lanes/${lane.lane_id}/sessions`,
    { provider: 'codex' },
  );
  return { laneId: lane.lane_id, sessionId: session.session_id };
}

/** Shares the terminal until its recording is stored once (the recorder follows it), then revokes the share. */
async function recordedAfterShare(tether: BenchTether, terminalId: string, credential: string) {
  const { share } = await tether.call<{ share: { share_id: string } }>('POST', '/v1/shares', {
    terminal_id: terminalId,
  });
  await waitFor(async () => {
    const res = await fetch(`${tether.url}/v1/recordings/${terminalId}`, {
      headers: { authorization: `Bearer ${credential}` },
    });
    await res.arrayBuffer();
    return res.status === 200;
  }, 30_000).catch(() => {
    throw new Error(`terminal ${terminalId} was shared but not recorded: ${tether.logs().slice(-2000)}`);
  });
  await tether.call('POST', `/v1/shares/${share.share_id}/revoke`, { reason: 'bench: only the recorder follows it' });
}

const terminalState = async (tether: BenchTether, id: string) =>
  (await tether.call<{ value?: string }>('GET', `/v1/entities/terminal/${id}`).catch(() => ({ value: undefined })))
    .value;

/** Polls until `fn` gives a truthy value (returned), or throws after `ms`. */
async function waitFor<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The recording lines of the bench table. */
export function recordingLines(r: Record<string, unknown>): string[] {
  if (typeof r.recordingOverheadPct !== 'number') return [];
  const x = r as unknown as RecordingResults;
  return [
    '',
    'recording:',
    `  a terminal printing ${x.recordingFloodBytesPerSec / 1024} KiB/s (median of ${x.recordingRounds}): tether ${x.recordingCpuOffPct.toFixed(1)} % of a core relaying it, ${x.recordingCpuOnPct.toFixed(1)} % relaying and recording it`,
    `  recordingOverheadPct ${x.recordingOverheadPct.toFixed(2)} % of a core (goal < ${RECORDING_GOAL_PCT} %, ${x.recordingOverheadPct < RECORDING_GOAL_PCT ? 'met' : 'NOT MET'})`,
  ];
}

/**
 * `npm run bench:recording`: this section alone, with its own nats-server; prints its figures and puts
 * them in bench/results.json beside the others.
 */
export async function benchRecordingAlone(): Promise<void> {
  const nats = await NatsServer.start();
  try {
    const r = await measureRecordingOverhead(nats.url);
    const file = fileURLToPath(new URL('../results.json', import.meta.url));
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const round = (v: number) => Math.round(v * 1000) / 1000;
    const figures = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));
    writeFileSync(file, `${JSON.stringify({ ...results, ...figures }, null, 2)}\n`);
    process.stdout.write(`${recordingLines(r as unknown as Record<string, unknown>).join('\n')}\n`);
  } finally {
    await nats.dispose();
  }
}
