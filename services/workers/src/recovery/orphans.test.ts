import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { procStat, processesMarked, scanProcesses } from '@tether/runtime';
import { Tmux } from '../terminals/tmux.ts';
import { cleanReviewed, cleanupOrphans } from './orphan-cleanup.ts';
import { scanOrphans } from './orphan-scan.ts';
import type { LiveSet, OrphanItem, OrphanReport } from './orphans.ts';

// Real processes, a real tmux server on a private socket and real git worktrees: what a crashed tether leaves.

let home: string;
let worktrees: string;
let tmux: Tmux;
let inst: string;
/** Every process a test starts carries it, so afterEach can SIGKILL them all, whatever a test did. */
let run: string;
let children: ChildProcess[];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'tether-orphans-'));
  worktrees = join(home, 'worktrees');
  mkdirSync(worktrees);
  tmux = new Tmux(join(home, 'tmux.sock'));
  inst = `inst-${randomUUID()}`;
  run = randomUUID();
  children = [];
});

afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const pid of processesMarked('TETHER_TEST_RUN', run)) process.kill(pid, 'SIGKILL');
  await execa('tmux', ['-S', tmux.socket, 'kill-server'], { reject: false });
  rmSync(home, { recursive: true, force: true });
});

const env = (markers: Record<string, string>) => ({ PATH: process.env.PATH ?? '', TETHER_TEST_RUN: run, ...markers });

/** A child `sleep` with these markers, optionally ignoring SIGTERM (a wedged worker), in `cwd`. */
async function child(markers: Record<string, string>, o: { ignoreTerm?: boolean; cwd?: string } = {}) {
  const opts = { env: env(markers), cwd: o.cwd ?? home, stdio: 'ignore' as const };
  const c = o.ignoreTerm ? spawn('sh', ['-c', `trap '' TERM; exec sleep 60`], opts) : spawn('sleep', ['60'], opts);
  children.push(c);
  const ended = new Promise<NodeJS.Signals | null>((r) => c.once('exit', (_code, sig) => r(sig)));
  // Past the trap and the exec: from here on it is `sleep`, and ignores SIGTERM if asked to.
  await expect.poll(() => readFileSync(`/proc/${c.pid}/cmdline`, 'latin1')).toBe('sleep\x0060\x00');
  return { pid: c.pid!, ended };
}

/** A `sleep` whose parent has exited, as a crashed tether's children are (reparented, no longer tether's children). */
async function orphan(markers: Record<string, string>): Promise<number> {
  const r = await execa('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!'], { env: env(markers), extendEnv: false });
  return Number(r.stdout.trim());
}

const alive = (pid: number) => {
  const s = procStat(pid);
  return !!s && s.state !== 'Z';
};

const live = (o: Partial<LiveSet> = {}): LiveSet => ({
  terminals: new Set(),
  shares: new Set(),
  lanes: new Map(),
  knownTerminals: new Set(),
  protectedPids: new Set([process.pid]),
  ...o,
});

const scan = (l: LiveSet, tempDirs: string[] = []) =>
  scanOrphans({ installationId: inst, live: l, tmux, worktreesDir: worktrees, tempDirs });

/** The item for a pid in either list (other tethers on this machine may show up too: only ours are looked at). */
const byPid = (r: OrphanReport, pid: number) => {
  const find = (items: OrphanItem[]) => items.find((i) => i.kind === 'process' && i.ref === String(pid));
  const safe = find(r.safeToTerminate);
  const review = find(r.needsReview);
  return safe ? { list: 'safe', ...safe } : review ? { list: 'review', ...review } : undefined;
};

describe('orphan processes', () => {
  it('classifies each process by its marker, ends only the SafeToTerminate ones and leaves zero marked but the live', async () => {
    const mark = { TETHER_OWNER: inst };
    const liveTerminal = await child({ ...mark, TETHER_TERMINAL_ID: 't-live', TETHER_LANE_ID: 'l1' });
    const liveShare = await child({ ...mark, TETHER_SHARE_ID: 's-live' });
    const closedTerminal = await child({ ...mark, TETHER_TERMINAL_ID: 't-closed', TETHER_LANE_ID: 'l1' });
    const deadShare = await child({ ...mark, TETHER_SHARE_ID: 's-gone' });
    const unattached = await orphan(mark);
    const protectedOne = await child(mark);
    const otherInstallation = await child({ TETHER_OWNER: `inst-${randomUUID()}`, TETHER_TERMINAL_ID: 't-closed' });
    const oldMarker = await child({ TETHER_OWNER: 'tether-4242' });
    const unmarked = await child({});
    mkdirSync(join(worktrees, 'ws', 'gone'), { recursive: true });
    writeFileSync(join(worktrees, 'ws', 'gone', 'notes.txt'), 'x');
    const unmarkedInWorktree = await child({}, { cwd: join(worktrees, 'ws', 'gone') });

    const l = live({
      terminals: new Set(['t-live']),
      shares: new Set(['s-live']),
      knownTerminals: new Set(['t-live', 't-closed']),
      protectedPids: new Set([process.pid, protectedOne.pid]),
    });
    const report = await scan(l);
    expect(byPid(report, closedTerminal.pid)).toMatchObject({
      list: 'safe',
      reason: 'terminal t-closed is closed',
      terminalId: 't-closed',
      laneId: 'l1',
      command: 'sleep 60',
    });
    expect(byPid(report, deadShare.pid)).toMatchObject({ list: 'safe', reason: 'share s-gone is not active' });
    expect(byPid(report, unattached)).toMatchObject({
      list: 'safe',
      reason: "carries this installation's marker and belongs to no live entity",
    });
    expect(byPid(report, unattached)?.id).toBe(`process:${unattached}:${procStat(unattached)?.startTime}`);
    expect(byPid(report, oldMarker.pid)).toMatchObject({
      list: 'review',
      reason: expect.stringMatching(/older tether/),
    });
    expect(byPid(report, unmarkedInWorktree.pid)).toMatchObject({
      list: 'review',
      reason: expect.stringMatching(/works in tether's worktree folder .*gone but carries no marker/),
    });
    for (const p of [liveTerminal, liveShare, protectedOne, otherInstallation, unmarked])
      expect(byPid(report, p.pid)).toBeUndefined();
    // The environment is never in the report, only the command line.
    expect(JSON.stringify(report)).not.toMatch(/TETHER_TEST_RUN|PATH=/);

    const result = await cleanupOrphans(report, { tmux, graceMs: 2_000 });
    expect(result.failed).toEqual([]);
    expect(result.terminated).toBeGreaterThanOrEqual(3);
    expect(result.reviewPending).toBe(report.needsReview.length);
    expect(await closedTerminal.ended).toBe('SIGTERM');
    expect(await deadShare.ended).toBe('SIGTERM');
    expect(alive(unattached)).toBe(false);
    for (const p of [liveTerminal, liveShare, protectedOne, otherInstallation, oldMarker, unmarked, unmarkedInWorktree])
      expect(alive(p.pid)).toBe(true);
    // The zero-orphan check: a /proc scan finds this installation's marker only on what is live (or protected).
    const marked = scanProcesses()
      .filter((p) => p.env.TETHER_OWNER === inst)
      .map((p) => p.pid)
      .sort();
    expect(marked).toEqual([liveTerminal.pid, liveShare.pid, protectedOne.pid].sort());
  });

  it('SIGKILLs a SafeToTerminate process that ignores SIGTERM once the grace is over', async () => {
    const stuck = await child({ TETHER_OWNER: inst, TETHER_TERMINAL_ID: 't-old' }, { ignoreTerm: true });
    const report = await scan(live({ knownTerminals: new Set(['t-old']) }));
    expect(byPid(report, stuck.pid)?.list).toBe('safe');
    const t0 = Date.now();
    const result = await cleanupOrphans(report, { tmux, graceMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(await stuck.ended).toBe('SIGKILL');
    expect(result.failed).toEqual([]);
  });

  it('does not signal a reused pid: only the same start time and marker are trusted', async () => {
    const p = await child({ TETHER_OWNER: inst, TETHER_TERMINAL_ID: 't-old' });
    const report = await scan(live());
    const item = byPid(report, p.pid)!;
    // The same pid, as if it had been reused by another process started at another time.
    const reused: OrphanReport = {
      ...report,
      safeToTerminate: [{ ...item, id: `process:${p.pid}:1` }],
    };
    const result = await cleanupOrphans(reused, { tmux, graceMs: 300 });
    expect(result.terminated).toBe(0);
    expect(alive(p.pid)).toBe(true);
  });
});

describe('tmux sessions on tether’s socket', () => {
  it('lists none without a server, and none when the server does not answer in time', async () => {
    expect(await tmux.listSessions()).toEqual([]);
    await tmux.newSession('t-a', home, { TETHER_TEST_RUN: run }, 'sleep 60', join(home, 'status-a'));
    expect(await tmux.listSessions()).toEqual(['t-a']);
    const { serverPid } = await tmux.sessionListing();
    process.kill(serverPid!, 'SIGSTOP'); // a wedged server
    try {
      expect(await tmux.listSessions(300)).toEqual([]);
    } finally {
      process.kill(serverPid!, 'SIGCONT');
    }
  });

  it('kills a closed terminal’s session, keeps a live one and lists an unknown one for review', async () => {
    const shell = (id: string) => ({ TETHER_OWNER: inst, TETHER_TERMINAL_ID: id, TETHER_TEST_RUN: run });
    for (const id of ['t-live', 't-closed', 'stranger'])
      await tmux.newSession(id, home, shell(id), 'sleep 60', join(home, `status-${id}`));
    const liveShell = await tmux.panePid('t-live');
    const report = await scan(
      live({ terminals: new Set(['t-live']), knownTerminals: new Set(['t-live', 't-closed']) }),
    );
    const sessions = (items: OrphanItem[]) => items.filter((i) => i.kind === 'tmuxSession').map((i) => i.ref);
    expect(sessions(report.safeToTerminate)).toEqual(['t-closed']);
    expect(sessions(report.needsReview)).toEqual(['stranger']);
    // The tmux server itself is never an orphan, and neither is the live terminal's shell.
    const { serverPid } = await tmux.sessionListing();
    expect(byPid(report, serverPid!)).toBeUndefined();
    expect(byPid(report, liveShell)).toBeUndefined();

    const result = await cleanupOrphans(report, { tmux, graceMs: 2_000 });
    expect(result.failed).toEqual([]);
    expect((await tmux.listSessions()).sort()).toEqual(['stranger', 't-live']);
    expect(alive(liveShell)).toBe(true);

    // The operator confirms the review list: the unknown session goes too.
    const reviewed = await cleanReviewed(
      report.needsReview.filter((i) => i.kind === 'tmuxSession'),
      {
        tmux,
        worktreesDir: worktrees,
      },
    );
    expect(reviewed).toMatchObject({ terminated: 1, failed: [] });
    expect(await tmux.listSessions()).toEqual(['t-live']);
  });
});

describe('orphan worktrees and temp files', () => {
  async function repoWithLanes(lanes: string[]) {
    const repo = join(home, 'repo');
    const git = (...args: string[]) => execa('git', ['-C', repo, ...args]);
    mkdirSync(repo);
    await git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    await git('add', '.');
    await git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', 'init');
    for (const lane of lanes) await git('worktree', 'add', '-q', '-b', `tether/${lane}`, join(worktrees, 'ws', lane));
    return { repo, git };
  }
  const listed = async (git: (...a: string[]) => Promise<{ stdout: string }>) =>
    (await git('worktree', 'list', '--porcelain')).stdout
      .split('\n')
      .filter((l) => l.startsWith('worktree '))
      .map((l) => l.slice('worktree '.length));

  it('removes a clean orphan worktree, keeps a live one and one with uncommitted changes until the operator cleans it', async () => {
    const { git } = await repoWithLanes(['l-live', 'l-clean', 'l-dirty']);
    const path = (lane: string) => join(worktrees, 'ws', lane);
    writeFileSync(join(path('l-dirty'), 'README.md'), 'changed\n');
    writeFileSync(join(path('l-dirty'), 'new.txt'), 'untracked\n');
    mkdirSync(join(worktrees, 'ws', 'l-empty'));
    mkdirSync(join(worktrees, 'ws', 'l-stray'));
    writeFileSync(join(worktrees, 'ws', 'l-stray', 'file'), 'x');

    const report = await scan(live({ lanes: new Map([['l-live', path('l-live')]]) }));
    const worktreeItems = (items: OrphanItem[]) =>
      items
        .filter((i) => i.kind === 'worktree')
        .map((i) => [i.laneId, i.reason])
        .sort();
    expect(worktreeItems(report.safeToTerminate)).toEqual([
      ['l-clean', 'no live lane uses it and it has no uncommitted changes'],
      ['l-empty', 'an empty lane folder that no live lane uses'],
    ]);
    expect(worktreeItems(report.needsReview)).toEqual([
      ['l-dirty', 'uncommitted changes: 2 files'],
      ['l-stray', 'not a git worktree (1 entries): cannot tell whose they are'],
    ]);

    const result = await cleanupOrphans(report, { tmux });
    expect(result).toMatchObject({ removed: 2, failed: [] });
    expect(existsSync(path('l-clean'))).toBe(false);
    expect(existsSync(path('l-empty'))).toBe(false);
    expect(existsSync(join(path('l-dirty'), 'new.txt'))).toBe(true);
    expect(existsSync(path('l-live'))).toBe(true);
    expect(await listed(git)).not.toContain(path('l-clean'));
    // The lane's branch (its commits) stays: only the checkout goes.
    expect((await git('branch', '--list', 'tether/l-clean')).stdout).toMatch(/tether\/l-clean/);

    const dirty = report.needsReview.filter((i) => i.kind === 'worktree' && i.laneId === 'l-dirty');
    const reviewed = await cleanReviewed(dirty, { tmux, worktreesDir: worktrees });
    expect(reviewed).toEqual({ terminated: 0, removed: 1, reviewPending: 0, failed: [] });
    expect(existsSync(path('l-dirty'))).toBe(false);
    expect(await listed(git)).not.toContain(path('l-dirty'));
    expect(existsSync(path('l-live'))).toBe(true);
  });

  it('leaves a worktree that changed after the scan', async () => {
    await repoWithLanes(['l-clean']);
    const report = await scan(live());
    writeFileSync(join(worktrees, 'ws', 'l-clean', 'late.txt'), 'written after the scan\n');
    const result = await cleanupOrphans(report, { tmux });
    expect(result.removed).toBe(0);
    expect(result.failed).toEqual([
      { id: `worktree:${join(worktrees, 'ws', 'l-clean')}`, reason: expect.stringMatching(/1 changed files now/) },
    ]);
    expect(existsSync(join(worktrees, 'ws', 'l-clean', 'late.txt'))).toBe(true);
  });

  it("removes an earlier tether's temp files and none that this one may be writing", async () => {
    const dir = join(home, 'checkpoints');
    mkdirSync(join(dir, 't1'), { recursive: true });
    const old = [join(dir, 'a.json.tmp'), join(dir, 't1', 'scrollback.tmp')];
    for (const f of old) {
      writeFileSync(f, 'partial');
      utimesSync(f, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    }
    writeFileSync(join(dir, 'fresh.tmp'), 'being written');
    writeFileSync(join(dir, 'good.json'), '{}');
    const report = await scanOrphans({
      installationId: inst,
      live: live(),
      tmux,
      worktreesDir: worktrees,
      tempDirs: [dir],
      startedAt: Date.now() - 60_000,
    });
    expect(report.safeToTerminate.map((i) => [i.kind, i.ref]).sort()).toEqual(old.map((f) => ['tempFile', f]).sort());
    expect(await cleanupOrphans(report, { tmux })).toMatchObject({ removed: 2, failed: [] });
    for (const f of old) expect(existsSync(f)).toBe(false);
    expect(existsSync(join(dir, 'fresh.tmp'))).toBe(true);
    expect(existsSync(join(dir, 'good.json'))).toBe(true);
  });

  it('refuses a review item outside the worktrees folder and touches nothing of the batch', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'tether-not-a-lane-'));
    try {
      const victim = await child({ TETHER_OWNER: inst });
      const items: OrphanItem[] = [
        {
          id: `process:${victim.pid}:${procStat(victim.pid)!.startTime}`,
          kind: 'process',
          ref: String(victim.pid),
          reason: 'test',
        },
        { id: `worktree:${outside}`, kind: 'worktree', ref: outside, reason: 'forged' },
      ];
      await expect(cleanReviewed(items, { tmux, worktreesDir: worktrees })).rejects.toMatchObject({
        name: 'TetherError',
        code: 'INVALID_COMMAND',
        message: expect.stringMatching(/not inside tether's worktrees folder.*nothing was touched/),
      });
      expect(existsSync(outside)).toBe(true);
      expect(alive(victim.pid)).toBe(true);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
