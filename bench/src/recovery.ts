import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { execa } from 'execa';
import type { EventEnvelope, RecoveryStatusView } from '@tether/contracts';
import { NatsServer, TetherProcess, gitRepo } from '@tether/tests';
import { termSubjects } from '@tether/workers';
import { log, percentile } from './timing.ts';

// Crash recovery (issue 12) with real processes: a supervised `tether up` (the default: its supervisor
// restarts a killed server 100 ms later), real tmux, a real kill -9 of the server, a nats-server of its
// own per figure. The clock starts at the kill -9; a figure stops when the recovery run's LIVE event is
// in the stream and every terminal answered a line typed into it over NATS (typed as soon as the run
// reports it restored, and again every 500 ms until it answers).

export const RECOVERY_GOALS_MS = {
  crashToLive25Ms: 2_000,
  respawn25Ms: 5_000,
  crashToLive200Ms: 10_000,
  safeModeMs: 5_000,
} as const;
type Figure = keyof typeof RECOVERY_GOALS_MS;

/** Where the time of one crash goes, ms after the kill -9 (p50 over the runs). */
export interface CrashBreakdown {
  /** The new server process exists (its start time in /proc, 10 ms resolution): the supervisor's delay. */
  spawned: number;
  /** Its first event in the stream (node start, modules, NATS, the read models caught up). */
  firstEvent: number;
  /** The recovery run's `start` event `at`. */
  runStart: number;
  /** The new server listens (its url in $TETHER_HOME/tether.run.json, polled every 5 ms). */
  listening: number;
  /** The run's `restored` event `at` (every terminal reattached or respawned). */
  restored: number;
  /** The run's `reconciled` event `at`: the run is LIVE. */
  live: number;
  /** The LIVE event reached this process. */
  liveSeen: number;
  /** The last of the terminals answered its typed line. */
  allRelaying: number;
}

export interface RecoveryResults {
  crashToLive25Ms: number;
  crashToLive25P50Ms: number;
  crashToLive25P95Ms: number;
  crashToLive25Runs: number;
  respawn25Ms: number;
  respawn25P50Ms: number;
  respawn25P95Ms: number;
  respawn25Runs: number;
  crashToLive200Ms: number;
  crashToLive200P50Ms: number;
  crashToLive200P95Ms: number;
  crashToLive200Runs: number;
  /** Runs whose recovery failed or timed out (not in the figure), with why. */
  crashToLive200Failures: string[];
  safeModeMs: number;
  safeModeP50Ms: number;
  safeModeP95Ms: number;
  safeModeRuns: number;
  recoveryBreakdown: Partial<Record<'crashToLive25' | 'respawn25' | 'crashToLive200', CrashBreakdown>>;
  recoveryLoadAverage: { start: number; end: number };
}

export interface RecoveryCounts {
  runs25: number;
  runs200: number;
  safeModeRuns: number;
  /** Runs before the measured ones, not counted (the 25-terminal figures). */
  warmup: number;
}

const SHELL = 'bash --noprofile --norc';
/** Runs on one installation are this far apart: 3 crashes within 60 s would be a crash loop (safe mode). */
const REUSE_SPACING_MS = 32_000;

export async function measureRecovery(
  counts: RecoveryCounts = { runs25: 5, runs200: 3, safeModeRuns: 5, warmup: 1 },
): Promise<RecoveryResults> {
  const start = loadavg()[0]!;
  const c25 = await withNats((nats) => crashToLive(nats, 25, counts.runs25, counts.warmup, false));
  const r25 = await withNats((nats) => crashToLive(nats, 25, counts.runs25, counts.warmup, true));
  const c200 = await withNats((nats) => crashToLive200(nats, counts.runs200));
  const safe = await withNats((nats) => safeMode(nats, counts.safeModeRuns));
  return {
    ...figure('crashToLive25', c25.ms),
    ...figure('respawn25', r25.ms),
    ...figure('crashToLive200', c200.ms),
    ...figure('safeMode', safe),
    crashToLive200Failures: c200.failures,
    recoveryBreakdown: { crashToLive25: c25.breakdown, respawn25: r25.breakdown, crashToLive200: c200.breakdown },
    recoveryLoadAverage: { start, end: loadavg()[0]! },
  } as RecoveryResults;
}

function figure(name: string, ms: number[]) {
  const p95 = percentile(ms, 95);
  return {
    [`${name}Ms`]: p95,
    [`${name}P50Ms`]: percentile(ms, 50),
    [`${name}P95Ms`]: p95,
    [`${name}Runs`]: ms.length,
  };
}

/** A nats-server of the figure's own, and a client on it, for the length of `fn`. */
async function withNats<T>(fn: (n: { url: string; nc: NatsConnection }) => Promise<T>): Promise<T> {
  const nats = await NatsServer.start();
  try {
    const nc = await connect({ servers: nats.url, name: 'bench-recovery' });
    try {
      return await fn({ url: nats.url, nc });
    } finally {
      await nc.close();
    }
  } finally {
    await nats.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------
// One installation: a data folder, a git workspace, a supervised `tether up`.

interface Installation {
  home: string;
  socket: string;
  tether: TetherProcess;
  /** The server now running (from the run file), once it listens. */
  server(): { pid: number; url?: string } | undefined;
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

async function install(natsUrl: string, prefix: string): Promise<Installation> {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const repo = await gitRepo();
  const socket = join(home, 'terminals', 'tmux.sock');
  const cleanupFiles = async () => {
    await execa('tmux', ['-S', socket, 'kill-server'], { reject: false });
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  };
  let tether: TetherProcess;
  try {
    tether = await TetherProcess.start(
      {
        NATS_URL: natsUrl,
        TETHER_HOME: home,
        TETHER_LOG_LEVEL: 'warn',
        TETHER_SHELL: SHELL,
        TETHER_WORKSPACES: `bench=${repo}`,
      },
      [],
      { supervise: true },
    );
  } catch (err) {
    await cleanupFiles();
    throw err;
  }
  const server = () => tether.server();
  return {
    home,
    socket,
    tether,
    server,
    async call<T>(method: string, path: string, body?: unknown) {
      const url = server()?.url ?? tether.url;
      const headers: Record<string, string> = { authorization: `Bearer ${tether.token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as { ok?: boolean; error?: { code: string; reason?: string; message: string } };
      if (json.ok === false || !res.ok)
        throw new Error(
          `${method} ${path}: ${res.status} ${json.error?.code} ${json.error?.reason ?? ''} ${json.error?.message}`,
        );
      return json as T;
    },
    async stop() {
      // The supervisor passes SIGTERM on and the server stops cleanly; if not within 10 s, both are killed.
      const stopped = await Promise.race([
        tether.kill('SIGTERM').then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
      ]);
      if (!stopped) await tether.kill('SIGKILL');
      const s = server();
      if (s && isTetherServer(s.pid)) process.kill(s.pid, 'SIGKILL');
      await cleanupFiles();
    },
  };
}

/** A live `tether up` server (not a pid reused by something else since). */
function isTetherServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('--no-supervise');
  } catch {
    return false;
  }
}

/** One lane, its session, and `n` terminals in it (`parallel` created at once). */
async function makeTerminals(inst: Installation, n: number, parallel = 1) {
  const lane = await inst.call<{ lane_id: string }>('POST', '/v1/workspaces/bench/lanes', {
    project_context_id: 'bench',
    display_name: 'recovery',
  });
  const session = await inst.call<{ session_id: string }>(
    'POST',
    `/v1/workspaces/bench/lanes/${lane.lane_id}/sessions`,
    { provider: 'codex' },
  );
  const ids: string[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t = await inst.call<{ terminal_id: string; state: string }>(
        'POST',
        `/v1/workspaces/bench/lanes/${lane.lane_id}/terminals`,
        { session_id: session.session_id },
      );
      if (t.state !== 'active') throw new Error(`terminal ${t.terminal_id} is ${t.state}`);
      ids[i] = t.terminal_id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return { ids, sessionId: session.session_id };
}

// ---------------------------------------------------------------------------------------------------
// What the bench sees of a crash: the recovery run's events, and the terminals' output, over NATS.

interface Seen {
  ev: EventEnvelope;
  /** performance.now() when it arrived. */
  at: number;
}

/** Listens to every recovery and instance event and every terminal's output while a figure runs. */
function watch(nc: NatsConnection) {
  let onEvent: ((s: Seen) => void) | undefined;
  let onOutput: ((id: string, text: string) => void) | undefined;
  const decoder = new TextDecoder();
  const subs = [
    nc.subscribe('tether.evt.recovery.*', {
      callback: (_e, m) => onEvent?.({ ev: m.json<EventEnvelope>(), at: performance.now() }),
    }),
    nc.subscribe('tether.evt.instance.*', {
      callback: (_e, m) => onEvent?.({ ev: m.json<EventEnvelope>(), at: performance.now() }),
    }),
    nc.subscribe('tether.term.*.out', {
      callback: (_e, m) => onOutput?.(m.subject.split('.')[2]!, decoder.decode(m.data)),
    }),
  ];
  return {
    set(e: typeof onEvent, o: typeof onOutput) {
      onEvent = e;
      onOutput = o;
    },
    stop: () => {
      for (const s of subs) s.unsubscribe();
    },
  };
}

const type = (nc: NatsConnection, id: string, from: string, line: string) =>
  nc.publish(termSubjects.in(id), JSON.stringify({ data: `${line}\r`, from }));

/** performance.now() → wall clock ms, and the boot time in wall clock ms (for /proc start times). */
function bootWallMs(): number {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Date.now() - uptime * 1000;
}

/** A process's start, wall clock ms (10 ms resolution). */
function startedAtMs(pid: number, boot: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'latin1')
      .replace(/^.*\) /, '')
      .split(' ');
    return boot + Number(fields[19]) * 10; // starttime, in clock ticks (100/s) since boot
  } catch {
    return undefined;
  }
}

interface CrashSample {
  ms: number;
  /** Wall clock ms of the kill -9. */
  killedAt: number;
  phases: CrashBreakdown;
  runId: string;
}

/**
 * Kills the server with SIGKILL (and the tmux server, if asked) and waits until the new server's
 * recovery run is LIVE and every terminal answers a typed line. Returns the elapsed ms and its phases.
 */
async function crashOnce(
  inst: Installation,
  nc: NatsConnection,
  w: ReturnType<typeof watch>,
  o: { ids: string[]; sessionId: string; tag: string; killTmux: boolean; timeoutMs: number },
): Promise<CrashSample> {
  const old = inst.server();
  if (!old?.url || !isTetherServer(old.pid)) throw new Error(`no tether server runs on ${inst.home}`);
  const pending = new Set(o.ids);
  const restoredIds = new Set<string>();
  const texts = new Map<string, string>();
  const want = `${o.tag}-42-ok`;
  let runId: string | undefined;
  let firstEvent: number | undefined;
  const ev: Partial<Record<'start' | 'restored' | 'live', number>> = {};
  let liveSeen: number | undefined;
  let allRelaying: number | undefined;
  let listening: number | undefined;
  let failure: string | undefined;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const check = () => {
    if (failure || (liveSeen !== undefined && allRelaying !== undefined)) done();
  };
  const probe = (id: string) => type(nc, id, o.sessionId, `echo ${o.tag}-$((40+2))-ok`);
  const boot = bootWallMs();

  await nc.flush();
  const killWall = Date.now();
  const t0 = performance.now();
  w.set(
    ({ ev: e, at }) => {
      if (Date.parse(e.at) < killWall - 5) return;
      if (e.entity === 'instance' && firstEvent === undefined) firstEvent = Date.parse(e.at) - killWall;
      if (e.entity !== 'recovery') return;
      if (e.type === 'recovery.start' && runId === undefined) runId = e.entityId;
      if (e.entityId !== runId) return;
      const t = Date.parse(e.at) - killWall;
      if (e.type === 'recovery.start') ev.start = t;
      if (e.type === 'recovery.restored') ev.restored = t;
      if (e.type === 'recovery.terminalRestored') {
        const id = (e.data as { terminalId: string }).terminalId;
        restoredIds.add(id);
        if (pending.has(id)) probe(id);
      }
      if (e.type === 'recovery.terminalFailed') failure = `terminal failed: ${JSON.stringify(e.data)}`;
      if (e.type === 'recovery.failed') failure = `recovery run failed: ${JSON.stringify(e.data)}`;
      if (e.type === 'recovery.reconciled') {
        if (e.state !== 'live') failure = `the run ended ${JSON.stringify(e.state)}, not live`;
        ev.live = t;
        liveSeen = at - t0;
      }
      check();
    },
    (id, text) => {
      if (!pending.has(id)) return;
      const all = (texts.get(id) ?? '') + text;
      if (all.includes(want)) {
        pending.delete(id);
        if (pending.size === 0) allRelaying = performance.now() - t0;
        check();
      } else texts.set(id, all.slice(-4096));
    },
  );
  process.kill(old.pid, 'SIGKILL');
  if (o.killTmux) await execa('tmux', ['-S', inst.socket, 'kill-server'], { reject: false });
  // The new server listening; lines typed again to terminals that have not answered.
  const poll = setInterval(() => {
    if (listening !== undefined) return;
    const s = inst.server();
    if (s?.url && s.pid !== old.pid) listening = performance.now() - t0;
  }, 5);
  const retype = setInterval(() => {
    for (const id of pending) if (restoredIds.has(id) || liveSeen !== undefined) probe(id);
  }, 500);
  const timer = setTimeout(() => {
    failure = `not live and relaying within ${o.timeoutMs} ms: run ${runId ?? 'not started'}, live ${liveSeen !== undefined}, ${pending.size} of ${o.ids.length} terminals silent`;
    done();
  }, o.timeoutMs);
  try {
    await finished;
  } finally {
    clearInterval(poll);
    clearInterval(retype);
    clearTimeout(timer);
    w.set(undefined, undefined);
  }
  if (failure) throw new Error(failure);
  const ms = Math.max(liveSeen!, allRelaying!);
  const now = inst.server();
  const spawnedWall = now ? startedAtMs(now.pid, boot) : undefined;
  return {
    ms,
    killedAt: killWall,
    runId: runId!,
    phases: {
      spawned: spawnedWall === undefined ? Number.NaN : spawnedWall - killWall,
      firstEvent: firstEvent ?? Number.NaN,
      runStart: ev.start ?? Number.NaN,
      listening: listening ?? Number.NaN,
      restored: ev.restored ?? Number.NaN,
      live: ev.live ?? Number.NaN,
      liveSeen: liveSeen!,
      allRelaying: allRelaying!,
    },
  };
}

/** The run as GET /v1/recovery shows it once the read model has it: live, nothing failed, no safe mode. */
async function checkRun(inst: Installation, runId: string, n: number, how: 'restored' | 'respawned') {
  const until = Date.now() + 15_000;
  for (;;) {
    const s = await inst.call<RecoveryStatusView>('GET', '/v1/recovery');
    const r = s.latest;
    if (r?.recovery_id === runId && !s.recovering) {
      const ok = r.status === 'live' && r.result[how] === n && r.result.failed.length === 0 && !s.safe_mode;
      if (!ok)
        throw new Error(
          `run ${runId}: ${r.status}, ${JSON.stringify(r.result)}, safe mode ${JSON.stringify(s.safe_mode)} (expected ${n} ${how})`,
        );
      return r;
    }
    if (Date.now() > until) throw new Error(`run ${runId} is not in GET /v1/recovery after 15 s`);
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every terminal answers a typed line (before the clock runs: each shell is up and relayed). */
async function allAnswer(
  nc: NatsConnection,
  w: ReturnType<typeof watch>,
  ids: string[],
  sessionId: string,
  tag: string,
) {
  const pending = new Set(ids);
  const texts = new Map<string, string>();
  w.set(undefined, (id, text) => {
    if (!pending.has(id)) return;
    const all = (texts.get(id) ?? '') + text;
    if (all.includes(`${tag}-42-ok`)) pending.delete(id);
    else texts.set(id, all.slice(-4096));
  });
  try {
    const until = Date.now() + 60_000;
    while (pending.size > 0) {
      if (Date.now() > until) throw new Error(`${pending.size} of ${ids.length} terminals never answered`);
      for (const id of pending) type(nc, id, sessionId, `echo ${tag}-$((40+2))-ok`);
      await sleep(500);
    }
  } finally {
    w.set(undefined, undefined);
  }
}

// ---------------------------------------------------------------------------------------------------
// The figures.

/**
 * crashToLive25Ms (tmux survives: the terminals are reattached) and respawn25Ms (the tmux server is
 * killed too: respawned from their checkpoints). Each run has a fresh data folder and supervisor, so its
 * crash is the installation's first (no crash loop) and the supervisor's (its 100 ms restart delay).
 */
async function crashToLive(
  nats: { url: string; nc: NatsConnection },
  n: number,
  runs: number,
  warmup: number,
  respawn: boolean,
): Promise<{ ms: number[]; breakdown: CrashBreakdown }> {
  const name = respawn ? `respawn${n}` : `crashToLive${n}`;
  const w = watch(nats.nc);
  const ms: number[] = [];
  const samples: CrashSample[] = [];
  try {
    for (let run = 0; run < warmup + runs; run++) {
      const inst = await install(nats.url, `tether-bench-recovery-${name}-`);
      try {
        const { ids, sessionId } = await makeTerminals(inst, n, 4);
        const dirs = respawn ? ids.map((_, i) => join(inst.home, 'cwd', `t-${i}`)) : [];
        const typedAt = Date.now();
        if (respawn) {
          for (const [i, id] of ids.entries()) {
            mkdirSync(dirs[i]!, { recursive: true });
            type(nats.nc, id, sessionId, `cd ${dirs[i]} && echo marker-${i}-$((6*7))`);
          }
          await checkpointedIn(inst, ids, dirs);
        } else await allAnswer(nats.nc, w, ids, sessionId, `warm${run}`);
        const s = await crashOnce(inst, nats.nc, w, {
          ids,
          sessionId,
          tag: `${name}r${run}`,
          killTmux: respawn,
          timeoutMs: 60_000,
        });
        const view = await checkRun(inst, s.runId, n, respawn ? 'respawned' : 'restored');
        if (respawn)
          await checkRespawned(inst, ids[0]!, dirs[0]!, view.terminals.find((t) => t.terminal_id === ids[0])?.outcome, {
            typedAt,
            killedAt: s.killedAt,
          });
        const counted = run >= warmup;
        log(
          `${name}: run ${run + 1 - warmup}${counted ? '' : ' (warm-up)'}: ${s.ms.toFixed(0)} ms (${phaseLine(s.phases)})`,
        );
        if (counted) {
          ms.push(s.ms);
          samples.push(s);
        }
      } finally {
        await inst.stop();
      }
    }
  } finally {
    w.stop();
  }
  return { ms, breakdown: medianPhases(samples) };
}

/** Waits until each terminal's checkpoint has its own folder as cwd. */
async function checkpointedIn(inst: Installation, ids: string[], dirs: string[]) {
  const until = Date.now() + 60_000;
  for (;;) {
    const { items } = await inst.call<{
      items: { terminal_id: string; cwd: string | null; taken_at: string | null }[];
    }>('GET', '/v1/checkpoints');
    const ok = ids.every((id, i) => items.some((c) => c.terminal_id === id && c.cwd === dirs[i] && c.taken_at));
    if (ok) return;
    if (Date.now() > until) throw new Error('the terminals were not checkpointed in their folders within 60 s');
    await sleep(250);
  }
}

/**
 * A respawned pane: in its checkpointed cwd, with its old output and a "restored from <time>" line on
 * screen, that time the checkpoint's (taken after the marker was typed, before the kill).
 */
async function checkRespawned(
  inst: Installation,
  id: string,
  dir: string,
  outcome: string | null | undefined,
  window: { typedAt: number; killedAt: number },
) {
  const tmux = (args: string[]) => execa('tmux', ['-S', inst.socket, ...args], { reject: false });
  const cwd = (await tmux(['display-message', '-p', '-t', `=${id}:`, '#{pane_current_path}'])).stdout;
  const screen = (await tmux(['capture-pane', '-p', '-S', '-200', '-t', `=${id}:`])).stdout;
  const from = Date.parse(/restored from (\S+)/.exec(screen)?.[1] ?? '');
  const problems = [
    outcome === 'respawned' ? '' : `outcome ${outcome}`,
    cwd === dir ? '' : `cwd ${cwd}, not ${dir}`,
    from >= window.typedAt && from <= window.killedAt ? '' : 'no "restored from" line with the checkpoint\'s time',
    screen.includes('marker-0-42') ? '' : 'the scrollback before the crash is missing',
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`respawned terminal ${id}: ${problems.join('; ')}\n${screen.slice(-1500)}`);
}

/**
 * crashToLive200Ms: 200 terminals made once; each run kills the same installation's server again,
 * REUSE_SPACING_MS after the last kill, so no three crashes fall within a minute (that is a crash
 * loop: safe mode) and the supervisor restarts after its first delay (100 ms, not a doubled one).
 */
async function crashToLive200(
  nats: { url: string; nc: NatsConnection },
  runs: number,
): Promise<{ ms: number[]; breakdown: CrashBreakdown; failures: string[] }> {
  const n = 200;
  const w = watch(nats.nc);
  const inst = await install(nats.url, 'tether-bench-recovery-200-');
  const ms: number[] = [];
  const samples: CrashSample[] = [];
  const failures: string[] = [];
  try {
    log(`crashToLive200: making ${n} terminals`);
    const t = performance.now();
    const { ids, sessionId } = await makeTerminals(inst, n, 4);
    await allAnswer(nats.nc, w, ids, sessionId, 'warm');
    log(`crashToLive200: ${n} terminals made and answering in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    let lastKill = 0;
    for (let run = 0; run < runs; run++) {
      const wait = lastKill + REUSE_SPACING_MS - Date.now();
      if (wait > 0) {
        log(`crashToLive200: ${(wait / 1000).toFixed(0)} s until the next kill (no crash loop)`);
        await sleep(wait);
      }
      lastKill = Date.now();
      let s: CrashSample;
      try {
        s = await crashOnce(inst, nats.nc, w, {
          ids,
          sessionId,
          tag: `c200r${run}`,
          killTmux: false,
          timeoutMs: 120_000,
        });
        await checkRun(inst, s.runId, n, 'restored');
      } catch (err) {
        // A failed run is a result too (counted, not timed); the next kill tries again.
        failures.push((err as Error).message.slice(0, 300));
        log(`crashToLive200: run ${run + 1} FAILED: ${(err as Error).message.slice(0, 300)}`);
        continue;
      }
      log(`crashToLive200: run ${run + 1}: ${s.ms.toFixed(0)} ms (${phaseLine(s.phases)})`);
      ms.push(s.ms);
      samples.push(s);
    }
  } finally {
    w.stop();
    await inst.stop();
  }
  return { ms, breakdown: medianPhases(samples), failures };
}

/**
 * safeModeMs: three kill -9s of the server, each once it listens (its instance is recorded by then);
 * the clock runs from the third until GET /v1/recovery (polled every 20 ms) says safe mode is active.
 * Each run has a fresh data folder and supervisor.
 */
async function safeMode(nats: { url: string; nc: NatsConnection }, runs: number): Promise<number[]> {
  const ms: number[] = [];
  for (let run = 0; run < runs; run++) {
    const inst = await install(nats.url, 'tether-bench-recovery-safe-');
    try {
      let t0 = 0;
      for (let crash = 1; crash <= 3; crash++) {
        const s = await listeningServer(inst);
        if (crash === 3) t0 = performance.now();
        process.kill(s.pid, 'SIGKILL');
        if (crash < 3) await listeningServer(inst, s.pid);
      }
      const until = t0 + 60_000;
      for (;;) {
        const s = inst.server();
        const status = s?.url
          ? await fetch(`${s.url}/v1/recovery`, { headers: { authorization: `Bearer ${inst.tether.token}` } })
              .then((r) => r.json() as Promise<RecoveryStatusView>)
              .catch(() => undefined)
          : undefined;
        if (status?.safe_mode?.active) break;
        if (performance.now() > until) throw new Error('safe mode not reported within 60 s of the third crash');
        await sleep(20);
      }
      const took = performance.now() - t0;
      log(`safeModeMs: run ${run + 1}: ${took.toFixed(0)} ms`);
      ms.push(took);
    } finally {
      await inst.stop();
    }
  }
  return ms;
}

/** The server running now, once it answers /healthz (and, with `not`, once it is not that pid). */
async function listeningServer(inst: Installation, not?: number): Promise<{ pid: number; url: string }> {
  const until = Date.now() + 60_000;
  for (;;) {
    const s = inst.server();
    if (s?.url && s.pid !== not && isTetherServer(s.pid)) {
      const ok = await fetch(`${s.url}/healthz`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return { pid: s.pid, url: s.url };
    }
    if (Date.now() > until) throw new Error(`no tether server listening on ${inst.home} within 60 s`);
    await sleep(10);
  }
}

const PHASES: (keyof CrashBreakdown)[] = [
  'spawned',
  'firstEvent',
  'runStart',
  'listening',
  'restored',
  'live',
  'liveSeen',
  'allRelaying',
];

function medianPhases(samples: CrashSample[]): CrashBreakdown {
  return Object.fromEntries(
    PHASES.map((k) => [k, percentile(samples.map((s) => s.phases[k]).filter(Number.isFinite), 50)]),
  ) as unknown as CrashBreakdown;
}

const phaseLine = (p: CrashBreakdown) => PHASES.map((k) => `${k} ${Math.round(p[k])}`).join(', ');

/** The crash recovery lines of the bench table. */
export function recoveryLines(r: Record<string, unknown>): string[] {
  if (typeof r.crashToLive25Ms !== 'number') return [];
  const lines = ['', 'crash recovery (kill -9 of a supervised tether up, real tmux):'];
  const labels: Record<Figure, string> = {
    crashToLive25Ms: 'kill -9 → LIVE, 25 terminals reattached and relaying',
    respawn25Ms: 'kill -9 + tmux killed → 25 respawned (cwd, scrollback), LIVE, relaying',
    crashToLive200Ms: 'kill -9 → LIVE, 200 terminals reattached and relaying',
    safeModeMs: '3rd crash within 60 s → safe mode reported',
  };
  for (const [key, goal] of Object.entries(RECOVERY_GOALS_MS) as [Figure, number][]) {
    const base = key.slice(0, -2);
    const p50 = Number(r[`${base}P50Ms`]);
    const p95 = Number(r[`${base}P95Ms`]);
    lines.push(
      `  ${labels[key]} (${r[`${base}Runs`]} runs): p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms (goal < ${goal.toLocaleString('en-US')} ms, ${p95 < goal ? 'met' : `NOT MET by ${(p95 - goal).toFixed(0)} ms`})`,
    );
  }
  const failed = (r.crashToLive200Failures as string[] | undefined) ?? [];
  if (failed.length > 0) lines.push(`  crashToLive200: ${failed.length} run(s) FAILED: ${failed.join(' | ')}`);
  const b = r.recoveryBreakdown as RecoveryResults['recoveryBreakdown'] | undefined;
  for (const [name, p] of Object.entries(b ?? {})) {
    if (!p) continue;
    lines.push(`  where the time goes, ${name} (p50 of each step, ms after the kill -9):`);
    lines.push(
      `    server spawned ${p.spawned.toFixed(0)} → first event ${p.firstEvent.toFixed(0)} → run start ${p.runStart.toFixed(0)} → listening ${p.listening.toFixed(0)} → restored ${p.restored.toFixed(0)} → LIVE ${p.live.toFixed(0)} (seen ${p.liveSeen.toFixed(0)}) → all relaying ${p.allRelaying.toFixed(0)}`,
    );
  }
  return lines;
}

/**
 * `npm run bench:recovery`: this section alone (each figure has its own nats-server); prints its figures
 * and puts them in bench/results.json beside the others (the full `npm run bench` measures them too).
 */
export async function benchRecoveryAlone(): Promise<void> {
  const r = await measureRecovery();
  const file = fileURLToPath(new URL('../results.json', import.meta.url));
  const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const tidy = (_k: string, v: unknown) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v);
  writeFileSync(file, `${JSON.stringify({ ...results, ...r }, tidy, 2)}\n`);
  process.stdout.write(`${recoveryLines({ ...r }).join('\n')}\n${JSON.stringify(r, tidy, 2)}\n`);
}
