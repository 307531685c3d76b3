import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LiveLinkReply, OperatorMessage } from '@tether/contracts';
import { NatsServer, gitRepo } from '@tether/tests';
import { startTether, type BenchTether } from './tether-server.ts';
import { log, percentile } from './timing.ts';

// Live task sessions (issue 13) through `tether up` over HTTP, with real tmux and a real agent process
// (`sleep`, which needs no checkpoints: the figures are tether's, not the agent's):
// - liveReadyP95Ms: POST /v1/task-runs → the reply with the live session READY and the caller's link
//   (the run's four-pane terminal, its share and the read-only invite are all inside it);
// - hardPauseP95Ms: POST …/control {pause, hard} sent → the agent's process shows state T in /proc;
// - messageToAgentP95Ms: POST …/operator-messages sent → the message is in the agent's inbox file.

export const LIVE_GOALS_MS = { liveReadyP95Ms: 500, hardPauseP95Ms: 100, messageToAgentP95Ms: 100 } as const;

export interface LiveResults {
  liveReadyP50Ms: number;
  liveReadyP95Ms: number;
  liveReadyRuns: number;
  hardPauseP50Ms: number;
  hardPauseP95Ms: number;
  hardPauseRuns: number;
  messageToAgentP50Ms: number;
  messageToAgentP95Ms: number;
  messageToAgentRuns: number;
}

/** Polls `done` every millisecond (a busy wait would steal the core tether needs) until it holds. */
async function until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const stopped = (pid: number) => {
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
};

async function startRun(tether: BenchTether, laneId: string): Promise<LiveLinkReply> {
  return tether.call<LiveLinkReply>('POST', '/v1/task-runs', {
    lane_id: laneId,
    name: 'bench',
    command: ['sleep', '3600'],
    live: true,
  });
}

export async function measureLive(natsUrl: string, runs = 20): Promise<LiveResults> {
  const tether = await startTether(natsUrl, { TETHER_WORKSPACES: `bench=${await gitRepo()}` }, 'tether-bench-live-');
  try {
    const lane = await tether.call<{ lane_id: string }>('POST', '/v1/workspaces/bench/lanes', {
      project_context_id: 'bench',
      display_name: 'live',
    });
    const ready: number[] = [];
    const started: LiveLinkReply[] = [];
    const cancel = (r: LiveLinkReply) =>
      tether.call('POST', `/v1/task-runs/${r.task_run.task_run_id}/control`, { action: 'cancel' }).catch(() => {});
    await cancel(await startRun(tether, lane.lane_id)); // warm-up
    log(`live: ${runs} task runs, POST /v1/task-runs → live session READY with a link`);
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await startRun(tether, lane.lane_id);
      const ms = performance.now() - t0;
      const status = r.task_run.live_session?.status;
      if (status !== 'ready' || !r.link)
        throw new Error(`run ${r.task_run.task_run_id}: live session ${status}, link ${!!r.link}`);
      ready.push(ms);
      started.push(r);
      // One run stays for the pause and message figures; the rest end, so their live sessions stay within TETHER_LIVE_MAX_PER_WORKER.
      if (i > 0) await cancel(r);
    }
    const run = started[0]!.task_run;
    const pid = run.agent_pid!;
    const control = (body: object) => tether.call('POST', `/v1/task-runs/${run.task_run_id}/control`, body);
    log(`live: ${runs} hard pauses of agent ${pid}, control sent → process state T`);
    const pause: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const sent = control({ action: 'pause', mode: 'hard', reason: 'bench' });
      await until(() => stopped(pid), `agent ${pid} stopped`);
      pause.push(performance.now() - t0);
      await sent;
      await control({ action: 'resume' });
      await until(() => !stopped(pid), `agent ${pid} running again`);
    }
    const inbox = run.inbox_path!;
    log(`live: ${runs} operator messages, POST sent → line in ${inbox}`);
    const message: number[] = [];
    for (let i = 0; i < runs; i++) {
      const text = `bench message ${i} ${Date.now()}`;
      const t0 = performance.now();
      const sent = tether.call<OperatorMessage>('POST', `/v1/task-runs/${run.task_run_id}/operator-messages`, {
        message: text,
      });
      await until(() => existsSync(inbox) && readFileSync(inbox, 'utf8').includes(text), `message ${i} in the inbox`);
      message.push(performance.now() - t0);
      await sent;
    }
    await cancel(started[0]!);
    return {
      liveReadyP50Ms: percentile(ready, 50),
      liveReadyP95Ms: percentile(ready, 95),
      liveReadyRuns: runs,
      hardPauseP50Ms: percentile(pause, 50),
      hardPauseP95Ms: percentile(pause, 95),
      hardPauseRuns: runs,
      messageToAgentP50Ms: percentile(message, 50),
      messageToAgentP95Ms: percentile(message, 95),
      messageToAgentRuns: runs,
    };
  } finally {
    await tether.stop();
  }
}

const met = (v: number, goal: number) => (v < goal ? 'met' : 'NOT MET');

/** The live-session lines of the bench table. */
export function liveLines(r: Record<string, unknown>): string[] {
  if (typeof r.liveReadyP95Ms !== 'number') return [];
  const l = r as unknown as LiveResults;
  const line = (what: string, p50: number, p95: number, n: number, goal: number) =>
    `  ${what} (${n} runs): p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (goal < ${goal} ms, ${met(p95, goal)})`;
  return [
    '',
    'live task sessions:',
    line(
      'task run → live session READY with a link',
      l.liveReadyP50Ms,
      l.liveReadyP95Ms,
      l.liveReadyRuns,
      LIVE_GOALS_MS.liveReadyP95Ms,
    ),
    line(
      'hard pause → agent stopped',
      l.hardPauseP50Ms,
      l.hardPauseP95Ms,
      l.hardPauseRuns,
      LIVE_GOALS_MS.hardPauseP95Ms,
    ),
    line(
      'operator message → agent inbox',
      l.messageToAgentP50Ms,
      l.messageToAgentP95Ms,
      l.messageToAgentRuns,
      LIVE_GOALS_MS.messageToAgentP95Ms,
    ),
  ];
}

/** `npm run bench:live`: this section alone, with its own nats-server; its figures go into bench/results.json. */
export async function benchLiveAlone(): Promise<void> {
  const nats = await NatsServer.start();
  try {
    const r = await measureLive(nats.url);
    const file = fileURLToPath(new URL('../results.json', import.meta.url));
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const round = (v: number) => Math.round(v * 1000) / 1000;
    const rounded = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));
    writeFileSync(file, `${JSON.stringify({ ...results, ...rounded }, null, 2)}\n`);
    process.stdout.write(`${liveLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await nats.dispose();
  }
}
