import { cliLines } from './cli.ts';
import { authLines } from './auth.ts';
import { handoffLines } from './handoff.ts';
import { orphanLines } from './orphans.ts';
import { recordingLines } from './recording.ts';
import { recoveryLines } from './recovery.ts';
import { liveLines } from './live.ts';
import { resendLines } from './resend.ts';
import { resumeLines } from './resume.ts';
import { browserLines } from './browser.ts';

export { writeResults } from './results-file.ts';

export const TARGETS = { commandRatio: 0.8, pipelinedRatio: 0.6, replayRatio: 0.7 } as const;

export interface Results {
  rawPublishPerSec: number;
  commandsPerSec: number;
  commandRatio: number;
  rawPipelinedPerSec: number;
  pipelinedCommandsPerSec: number;
  pipelinedRatio: number;
  rawReadPerSec: number;
  replayEventsPerSec: number;
  replayRatio: number;
  commandP50Ms: number;
  commandP99Ms: number;
  [more: string]: unknown;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const met = (ratio: number, target: number) => (ratio >= target ? 'met' : 'NOT MET');

type Cpu = Record<string, number>;

/** Where one awaited command goes, as run.ts measures it. */
export interface Breakdown {
  transport: { echoPerSec: number; echoPipelinedPerSec: number };
  inProcess: Record<
    | 'hostExecuteMicros'
    | 'intakeMicros'
    | 'replyMicros'
    | 'transitionMicros'
    | 'canMicros'
    | 'validateDataMicros'
    | 'encodeEventMicros',
    number
  >;
  modelledCommandMicros: number;
  cpu: Record<
    'awaitedCommandMicros' | 'pipelinedCommandMicros' | 'rawAwaitedPublishMicros' | 'rawPipelinedPublishMicros',
    Cpu
  >;
  projectionLagAfterPipelined?: number;
  bareHost: {
    commandsPerSec: number;
    commandP50Ms: number;
    pipelinedCommandsPerSec: number;
    awaitedCpuMicros: Cpu;
    pipelinedCpuMicros: Cpu;
  };
  replayPhases: { readAllPerSec: number; foldRebuildPerSec: number; foldApplyEventPerSec: number };
}

/** The table's figures: tether's rate, the raw engine's and its unit, and their ratio (its target is in TARGETS). */
const FIGURES = [
  ['awaited commands /s', 'commandsPerSec', 'rawPublishPerSec', 'publishes', 'commandRatio'],
  ['pipelined commands /s (64)', 'pipelinedCommandsPerSec', 'rawPipelinedPerSec', 'publishes', 'pipelinedRatio'],
  ['replay events /s (rebuild)', 'replayEventsPerSec', 'rawReadPerSec', 'reads', 'replayRatio'],
] as const;

/** The readable table: each tether figure next to the raw engine in the same run, its ratio and target. */
export function formatTable(r: Results, b: Breakdown): string {
  const rows: string[][] = [
    ['figure', 'tether', 'raw engine', 'ratio', 'target', ''],
    ...FIGURES.map(([name, tether, raw, unit, ratio]) => [
      name,
      int(r[tether]),
      `${int(r[raw])} ${unit}`,
      r[ratio].toFixed(2),
      `≥ ${TARGETS[ratio]}`,
      met(r[ratio], TARGETS[ratio]),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  out.push(
    '',
    `raw publishes /s, before / after the tether phases (baseline = mean): awaited ${(r.rawPublishRuns as number[]).map(int).join(' / ')}, pipelined ${(r.rawPipelinedRuns as number[]).map(int).join(' / ')}`,
  );
  out.push(`command latency (awaited): p50 ${r.commandP50Ms.toFixed(3)} ms, p99 ${r.commandP99Ms.toFixed(3)} ms`);
  if (typeof r.laneCreateP95Ms === 'number') {
    const ms = (v: unknown) => `${Number(v).toFixed(1)} ms`;
    out.push('', 'control plane:');
    out.push(
      `  lane create (git worktree included), ${r.lanesCreated} lanes: p50 ${ms(r.laneCreateP50Ms)}, p95 ${ms(r.laneCreateP95Ms)}`,
    );
    out.push(
      `  terminal spawn (shell running in tmux), ${r.terminalsSpawned} terminals: p50 ${ms(r.terminalSpawnP50Ms)}, p95 ${ms(r.terminalSpawnP95Ms)}`,
    );
    out.push(
      `  harness failover (server killed → route native_openai), checks every ${r.harnessCheckEveryMs} ms: median ${ms(r.harnessFailoverMs)}, runs ${(r.harnessFailoverRuns as number[]).join(', ')} ms`,
    );
  }
  if (typeof r.policyDecisionP95Ms === 'number') {
    out.push(
      `  share policy decision at ${r.policyRules} rules (match in the last): p50 ${(Number(r.policyDecisionP50Ms) * 1000).toFixed(1)} µs, p95 ${(Number(r.policyDecisionP95Ms) * 1000).toFixed(1)} µs (goal < 1 ms)`,
    );
  }
  if (typeof r.shareLinkP95Ms === 'number') {
    const ms = (v: unknown) => `${Number(v).toFixed(1)} ms`;
    const goal = (v: unknown, g: number) => (Number(v) < g ? 'met' : 'NOT MET');
    out.push('', 'sharing (native):');
    out.push(
      `  request → link, ${r.shareLinkRuns} shares: p50 ${ms(r.shareLinkP50Ms)}, p95 ${ms(r.shareLinkP95Ms)} (goal < 100 ms, ${goal(r.shareLinkP95Ms, 100)}; ${(Number(r.shareLinkP50Ms) / r.commandP50Ms).toFixed(0)}× an awaited command's p50)`,
    );
    out.push(
      `  revoke → all ${r.revokeViewers} viewers disconnected, ${r.revokeRuns} runs: p50 ${ms(r.revokeDisconnectP50Ms)}, p95 ${ms(r.revokeDisconnectP95Ms)} (goal < 250 ms, ${goal(r.revokeDisconnectP95Ms, 250)})`,
    );
    out.push(
      `  memory per live share with one viewer, ${r.sharesForMemory} shares after a full GC: ${Number(r.shareMemoryKb).toFixed(0)} KiB heap+external (goal < 2048, ${goal(r.shareMemoryKb, 2048)}), ${Number(r.shareMemoryRssKb).toFixed(0)} KiB RSS`,
    );
  }
  out.push(...authLines(r));
  out.push(...handoffLines(r));
  out.push(...cliLines(r));
  out.push(...resumeLines(r));
  out.push(...resendLines(r));
  out.push(...orphanLines(r));
  out.push(...recoveryLines(r));
  out.push(...liveLines(r));
  out.push(...recordingLines(r));
  out.push(...browserLines(r));
  out.push('', 'where one awaited command goes (µs):');
  const e = b.transport;
  out.push(
    `  NATS request/reply echo    ${int(1e6 / e.echoPerSec)} µs round trip (${int(e.echoPerSec)}/s awaited, ${int(e.echoPipelinedPerSec)}/s with 64 in flight)`,
  );
  out.push(`  JetStream publish + ack    ${int(1e6 / r.rawPublishPerSec)} µs (awaited raw publish)`);
  const s = b.inProcess;
  out.push(
    `  tether in-process work     ${s.hostExecuteMicros} µs ActorHost.execute on a fake store + ${s.intakeMicros} µs bus intake + ${s.replyMicros} µs reply encode/parse`,
  );
  out.push(
    `    of which: transition() ${s.transitionMicros}, can ${s.canMicros}, data zod ${s.validateDataMicros}, event JSON ${s.encodeEventMicros}`,
  );
  out.push(
    `  sum of the above           ${int(b.modelledCommandMicros)} µs vs measured mean ${int(1e6 / r.commandsPerSec)} µs (p50 ${int(r.commandP50Ms * 1000)} µs)`,
  );
  out.push(`  CPU per awaited command    ${fmtCpu(b.cpu.awaitedCommandMicros)}`);
  out.push(`  CPU per pipelined command  ${fmtCpu(b.cpu.pipelinedCommandMicros)}`);
  out.push(
    `  CPU per raw publish        awaited ${fmtCpu(b.cpu.rawAwaitedPublishMicros)}; pipelined ${fmtCpu(b.cpu.rawPipelinedPublishMicros)}`,
  );
  if (b.projectionLagAfterPipelined !== undefined)
    out.push(`  actors projection lag at the end of the pipelined run: ${int(b.projectionLagAfterPipelined)} events`);
  const h = b.bareHost;
  out.push(
    `  bare ActorHost process (no projection, timers, snapshots): ${int(h.commandsPerSec)}/s awaited (ratio ${(h.commandsPerSec / r.rawPublishPerSec).toFixed(2)}, p50 ${h.commandP50Ms.toFixed(3)} ms), ${int(h.pipelinedCommandsPerSec)}/s pipelined (ratio ${(h.pipelinedCommandsPerSec / r.rawPipelinedPerSec).toFixed(2)})`,
  );
  out.push(`    CPU per command: awaited ${fmtCpu(h.awaitedCpuMicros)}; pipelined ${fmtCpu(h.pipelinedCpuMicros)}`);
  const p = b.replayPhases;
  out.push(
    '',
    `replay, best of rounds (events/s): raw read ${(r.rawReadRuns as number[]).map(int).join(' / ')}, rebuildActors ${(r.replayRuns as number[]).map(int).join(' / ')}`,
  );
  out.push(
    `rebuild phases (events/s): store.readAll alone ${int(p.readAllPerSec)}; fold alone (in memory): rebuildActors ${int(p.foldRebuildPerSec)} vs applyEvent ${int(p.foldApplyEventPerSec)}`,
  );
  out.push(
    `  per event: raw read ${(1e6 / r.rawReadPerSec).toFixed(1)} µs, readAll ${(1e6 / p.readAllPerSec).toFixed(1)} µs, fold ${(1e6 / p.foldRebuildPerSec).toFixed(1)} µs, rebuild ${(1e6 / r.replayEventsPerSec).toFixed(1)} µs`,
  );
  return out.join('\n');
}

const fmtCpu = (o: Cpu) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v} µs`)
    .join(', ');
