import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { EventRecord, subjects } from '@tether/contracts';
import { NatsServer, TetherProcess, api, createLanes, gitRepo, laneStates, type Tether } from '@tether/tests';
import { log, percentile } from './timing.ts';

// How soon effects resume after an outage (issue 10): lanes are created, then tether is killed
// (kill -9) or nats-server stopped (SIGTERM, back 2 s later on its store). Each lane the outage caught
// before its worktree was made (its worker's report is stamped after the outage began) is timed from
// the moment service was back (the new tether ready, or nats-server answering JetStream requests
// again) to the stamp of that report. Both clocks are this machine's.

export interface ResumeResults {
  /** The worse of the two p95s below; goal < 2,000 ms. */
  effectsResumeP95Ms: number;
  effectsResumeAfterKillP95Ms: number;
  effectsResumeAfterNatsRestartP95Ms: number;
  /** Every lane's time, ms, after the kills and after the NATS restarts. */
  effectsResumeAfterKillMs: number[];
  effectsResumeAfterNatsRestartMs: number[];
  /** Lanes whose worker reported a failure instead (a report that failed on the way, issue 10 defect 9), with why. */
  effectsResumeFailedLanes: string[];
  effectsResumeRuns: number;
  effectsResumeLanesPerRun: number;
}

export const RESUME_GOAL_MS = 2_000;
const OUTAGE_MS = 2_000;

/** `runs` kills and `runs` NATS restarts, `lanes` lane creates caught by each; its own nats-server (it is restarted). */
export async function measureResume(runs = 5, lanes = 4): Promise<ResumeResults> {
  const nats = await NatsServer.start();
  const home = mkdtempSync(join(tmpdir(), 'tether-bench-resume-'));
  const env = { NATS_URL: nats.url, TETHER_HOME: home, TETHER_WORKSPACES: `bench=${await gitRepo()}` };
  let tether: TetherProcess | undefined;
  try {
    const afterKill: number[] = [];
    const failed: string[] = [];
    log(`effects resume: ${runs} kill -9 of tether, ${lanes} lanes in flight each`);
    tether = await TetherProcess.start(env);
    for (let i = 0; i < runs; i++) {
      const ids = await createLanes(tether, 'bench', lanes, `kill${i}`);
      const outage = Date.now();
      await tether.kill('SIGKILL');
      tether = await TetherProcess.start(env);
      afterKill.push(...(await resumeTimes(tether, ids, outage, Date.now(), failed)));
    }
    const afterRestart: number[] = [];
    log(`effects resume: ${runs} nats-server restarts (${OUTAGE_MS} ms down), ${lanes} lanes in flight each`);
    for (let i = 0; i < runs; i++) {
      const ids = await createLanes(tether, 'bench', lanes, `nats${i}`);
      const outage = Date.now();
      await nats.stop();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await nats.restart();
      await streamListens(nats.url);
      afterRestart.push(...(await resumeTimes(tether, ids, outage, Date.now(), failed)));
    }
    const kill = percentile(afterKill, 95);
    const restart = percentile(afterRestart, 95);
    return {
      effectsResumeP95Ms: Math.max(kill, restart),
      effectsResumeAfterKillP95Ms: kill,
      effectsResumeAfterNatsRestartP95Ms: restart,
      effectsResumeAfterKillMs: afterKill.map(Math.round),
      effectsResumeAfterNatsRestartMs: afterRestart.map(Math.round),
      effectsResumeFailedLanes: failed,
      effectsResumeRuns: runs,
      effectsResumeLanesPerRun: lanes,
    };
  } finally {
    await tether?.kill('SIGKILL');
    await nats.dispose();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * For each lane whose worker reported after `outage`: ms from `back` to that report (0 if before).
 * The report is `provisioned`, or `provisionFailed` if a report failed on the way (counted in `failed`).
 */
async function resumeTimes(url: Tether, ids: string[], outage: number, back: number, failed: string[]) {
  const until = Date.now() + 60_000;
  while ((await laneStates(url, ids)).some((s) => s !== 'ready' && s !== 'error')) {
    if (Date.now() > until) throw new Error(`lanes ${ids.join(', ')} not all provisioned 60 s after the outage`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const took: number[] = [];
  for (const id of ids) {
    const { body } = await api<unknown[]>(url, 'GET', `/v1/entities/lane/${id}/events`);
    const report = body.map((e) => EventRecord.parse(e)).find((e) => e.type.startsWith('lane.provision'))!;
    if (report.type === 'lane.provisionFailed') failed.push(`${id}: ${String(report.data.reason)}`);
    const at = Date.parse(report.at);
    if (at >= outage) took.push(Math.max(0, at - back));
  }
  return took;
}

/**
 * Resolves once TETHER_EVENTS takes appends again: nats-server listens, and answers JetStream API calls,
 * a little before its streams listen. The probe expects a last sequence no subject has, so nothing is written.
 */
async function streamListens(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const js = jetstream(nc);
    for (;;) {
      try {
        await js.publish(subjects.event('lease', 'bench-probe'), '{}', { expect: { lastSubjectSequence: 1e12 } });
        throw new Error('the probe was written to the event stream');
      } catch (err) {
        if (err instanceof JetStreamApiError) return; // "wrong last sequence": the stream answered
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  } finally {
    await nc.close();
  }
}

/** The bench table's lines for these figures. */
export function resumeLines(r: Record<string, unknown>): string[] {
  if (typeof r.effectsResumeP95Ms !== 'number') return [];
  const c = r as unknown as ResumeResults;
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  return [
    '',
    `effects resume (${c.effectsResumeRuns} runs each, ${c.effectsResumeLanesPerRun} lanes in flight; from service back to lane ready):`,
    `  after kill -9 of tether: p95 ${ms(c.effectsResumeAfterKillP95Ms)}; after a nats-server restart: p95 ${ms(c.effectsResumeAfterNatsRestartP95Ms)}`,
    `  effectsResumeP95Ms ${ms(c.effectsResumeP95Ms)} (goal < ${RESUME_GOAL_MS} ms, ${c.effectsResumeP95Ms < RESUME_GOAL_MS ? 'met' : 'NOT MET'})`,
    ...c.effectsResumeFailedLanes.map((f) => `  a lane failed instead: ${f}`),
  ];
}

/** `npm run bench:resume`: this section alone; prints its figures, writes nothing. */
export async function benchResumeAlone(): Promise<void> {
  const r = await measureResume();
  process.stdout.write(`${resumeLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
}
