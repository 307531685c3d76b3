import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { gitRepo } from '@tether/tests';
import { type LiveSet, Tmux, scanOrphans } from '@tether/workers';
import { log, percentile } from './timing.ts';

// The orphan scan of a recovery run (issue 12), on a busy installation: 100 lanes whose worktrees are
// live, 300 processes carrying the installation marker (200 of live terminals, some in tmux sessions,
// and 100 of closed ones), classified from one /proc pass, a tmux listing and the worktrees folder.
// Every run must find exactly the 100 orphans and nothing else of ours, or the bench fails.

export interface OrphanScanResults {
  /** The p95; goal < 500 ms. */
  orphanScanMs: number;
  orphanScanP50Ms: number;
  orphanScanP95Ms: number;
  orphanScanRuns: number;
  orphanScanLanes: number;
  orphanScanMarkedProcesses: number;
}

export const ORPHAN_SCAN_GOAL_MS = 500;

export async function measureOrphanScan(
  counts = { lanes: 100, liveProcesses: 200, orphanedProcesses: 100, inTmux: 10, runs: 20 },
): Promise<OrphanScanResults> {
  const home = mkdtempSync(join(tmpdir(), 'tether-bench-orphans-'));
  const repo = await gitRepo();
  const tmux = new Tmux(join(home, 'tmux.sock'));
  const installationId = `inst-${crypto.randomUUID()}`;
  const children: ChildProcess[] = [];
  try {
    const worktreesDir = join(home, 'worktrees');
    mkdirSync(worktreesDir);
    log(`orphan scan: ${counts.lanes} lane worktrees`);
    const lanes = new Map<string, string>();
    for (let i = 0; i < counts.lanes; i++) {
      const path = join(worktreesDir, 'bench', `lane-${i}`);
      await execa('git', ['-C', repo, 'worktree', 'add', '-q', '-b', `tether/lane-${i}`, path]);
      lanes.set(`lane-${i}`, path);
    }
    const terminals = new Set<string>();
    const marker = (terminal: string, lane: number) => ({
      TETHER_OWNER: installationId,
      TETHER_TERMINAL_ID: terminal,
      TETHER_LANE_ID: `lane-${lane % counts.lanes}`,
    });
    // Live terminals: the first ones' shells in tmux sessions, the rest as plain children.
    for (let i = 0; i < counts.inTmux; i++) {
      terminals.add(`t-${i}`);
      await tmux.newSession(`t-${i}`, lanes.get(`lane-${i}`)!, marker(`t-${i}`, i), 'sleep 600', join(home, `t-${i}`));
    }
    const sleep = (env: Record<string, string>, cwd: string) => {
      const c = spawn('sleep', ['600'], { env: { PATH: process.env.PATH ?? '', ...env }, cwd, stdio: 'ignore' });
      children.push(c);
      return c.pid!;
    };
    for (let i = counts.inTmux; i < counts.liveProcesses; i++) {
      terminals.add(`t-${i}`);
      sleep(marker(`t-${i}`, i), lanes.get(`lane-${i % counts.lanes}`)!);
    }
    const orphans = new Set<string>();
    for (let i = 0; i < counts.orphanedProcesses; i++)
      orphans.add(String(sleep(marker(`closed-${i}`, i), lanes.get(`lane-${i % counts.lanes}`)!)));
    const live: LiveSet = {
      terminals,
      shares: new Set(),
      lanes,
      knownTerminals: new Set([...terminals, ...[...orphans].map((_, i) => `closed-${i}`)]),
      protectedPids: new Set([process.pid, process.ppid]),
    };
    const scan = async () => {
      const t0 = performance.now();
      const r = await scanOrphans({ installationId, live, tmux, worktreesDir, tempDirs: [home] });
      const ms = performance.now() - t0;
      // Other tethers on this machine may show up with their own markers; only ours are checked.
      const found = r.safeToTerminate.filter((i) => i.kind === 'process' && orphans.has(i.ref)).length;
      const wrong = [...r.safeToTerminate, ...r.needsReview].filter(
        (i) => (i.kind === 'process' && !orphans.has(i.ref) && i.owner === installationId) || i.kind !== 'process',
      );
      if (found !== orphans.size || wrong.length > 0)
        throw new Error(
          `orphan scan: found ${found} of ${orphans.size} orphans; wrongly listed: ${JSON.stringify(wrong.slice(0, 3))}`,
        );
      return ms;
    };
    for (let i = 0; i < 2; i++) await scan(); // warm-up
    log(`orphan scan: ${counts.runs} scans of ${counts.liveProcesses + counts.orphanedProcesses} marked processes`);
    const ms: number[] = [];
    for (let i = 0; i < counts.runs; i++) ms.push(await scan());
    const p95 = percentile(ms, 95);
    return {
      orphanScanMs: p95,
      orphanScanP50Ms: percentile(ms, 50),
      orphanScanP95Ms: p95,
      orphanScanRuns: counts.runs,
      orphanScanLanes: counts.lanes,
      orphanScanMarkedProcesses: counts.liveProcesses + counts.orphanedProcesses,
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await execa('tmux', ['-S', tmux.socket, 'kill-server'], { reject: false });
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  }
}

/** The orphan scan lines of the bench table. */
export function orphanLines(r: Record<string, unknown>): string[] {
  if (typeof r.orphanScanMs !== 'number') return [];
  const o = r as unknown as OrphanScanResults;
  return [
    '',
    'crash recovery:',
    `  orphan scan, ${o.orphanScanLanes} lanes and ${o.orphanScanMarkedProcesses} marked processes classified (${o.orphanScanRuns} runs): p50 ${o.orphanScanP50Ms.toFixed(1)} ms, p95 ${o.orphanScanP95Ms.toFixed(1)} ms (goal < ${ORPHAN_SCAN_GOAL_MS} ms, ${o.orphanScanP95Ms < ORPHAN_SCAN_GOAL_MS ? 'met' : 'NOT MET'})`,
  ];
}

/**
 * `npm run bench:orphans`: this section alone; prints its figures and puts them in bench/results.json
 * beside the others (the full `npm run bench` measures them too).
 */
export async function benchOrphansAlone(): Promise<void> {
  const r = await measureOrphanScan();
  const file = fileURLToPath(new URL('../results.json', import.meta.url));
  const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  const figures = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));
  writeFileSync(file, `${JSON.stringify({ ...results, ...figures }, null, 2)}\n`);
  process.stdout.write(`${orphanLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
}
