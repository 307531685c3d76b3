import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { TetherError } from '@tether/contracts';
import { procStat, terminate } from '@tether/runtime';
import { git } from '../lanes/git-worktree.ts';
import type { Tmux } from '../terminals/tmux.ts';
import type { CleanupResult, OrphanItem, OrphanReport } from './orphans.ts';

export type CleanupOutcome = 'terminated' | 'removed' | 'gone' | { failed: string };

export interface CleanupOptions {
  tmux: Tmux;
  /** How long processes have after SIGTERM before SIGKILL. */
  graceMs?: number;
  /** Each item's outcome as it happens (what the recovery run audits). */
  onItem?: (item: OrphanItem, outcome: CleanupOutcome) => void;
}

/** Ends and removes the report's SafeToTerminate items; NeedsReview items are never touched here. */
export async function cleanupOrphans(report: OrphanReport, o: CleanupOptions): Promise<CleanupResult> {
  checkItems(report.safeToTerminate);
  const r = await clean(report.safeToTerminate, o, removeCleanWorktree);
  return { ...r, reviewPending: report.needsReview.length };
}

/**
 * The operator-confirmed cleanup of NeedsReview items: kills the processes and sessions, removes the
 * worktrees with their changes (`git worktree remove --force`, then prune). Every path must lie in
 * `worktreesDir`: a report read back from elsewhere must not name a folder outside tether's own.
 */
export async function cleanReviewed(
  items: OrphanItem[],
  o: CleanupOptions & { worktreesDir: string },
): Promise<CleanupResult> {
  const root = resolve(o.worktreesDir);
  checkItems(items, root);
  const r = await clean(items, o, removeAnyWorktree);
  return { ...r, reviewPending: r.failed.length };
}

async function clean(
  items: OrphanItem[],
  o: CleanupOptions,
  removeWorktree: (path: string) => Promise<CleanupOutcome>,
): Promise<Omit<CleanupResult, 'reviewPending'>> {
  const result = { terminated: 0, removed: 0, failed: [] as { id: string; reason: string }[] };
  const tally = (item: OrphanItem, outcome: CleanupOutcome) => {
    if (outcome === 'terminated') result.terminated++;
    else if (outcome === 'removed') result.removed++;
    else if (outcome !== 'gone') result.failed.push({ id: item.id, reason: outcome.failed });
    o.onItem?.(item, outcome);
  };
  const of = (kind: OrphanItem['kind']) => items.filter((i) => i.kind === kind);

  // Processes first, so that nothing still works in a worktree or holds a session when those go.
  const processes = of('process').filter(stillThere);
  await terminate({ marked: () => processes.filter(stillThere).map((i) => Number(i.ref)), graceMs: o.graceMs });
  for (const item of processes)
    tally(item, stillThere(item) ? { failed: 'still running after SIGTERM and SIGKILL' } : 'terminated');
  for (const item of of('process').filter((i) => !processes.includes(i))) tally(item, 'gone');

  for (const item of of('tmuxSession')) {
    if (!(await o.tmux.hasSession(item.ref))) {
      tally(item, 'gone');
      continue;
    }
    await o.tmux.killSession(item.ref);
    tally(item, (await o.tmux.hasSession(item.ref)) ? { failed: 'tmux kill-session left it running' } : 'terminated');
  }
  for (const item of of('worktree')) tally(item, await removeWorktree(item.ref).catch((e) => ({ failed: why(e) })));
  for (const item of of('tempFile')) tally(item, removeTempFile(item.ref));
  return result;
}

/**
 * The very process the scan saw: same pid, same start time (pids are reused), not a zombie, and still
 * carrying the marker it carried then.
 */
function stillThere(item: OrphanItem): boolean {
  const [, pid, start] = item.id.split(':');
  const stat = procStat(pid!);
  if (!stat || stat.state === 'Z' || stat.startTime !== start) return false;
  if (!item.owner) return true;
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(`\0TETHER_OWNER=${item.owner}\0`);
  } catch {
    return false;
  }
}

/** A clean orphan worktree: `git worktree remove` (never forced: one that changed since the scan stays). */
async function removeCleanWorktree(path: string): Promise<CleanupOutcome> {
  if (!existsSync(path)) return 'gone';
  if (!isLinkedWorktree(path)) {
    if (readdirSync(path).length > 0)
      return { failed: 'it is no git worktree and is not empty (any more): scan again' };
    rmdirSync(path);
    return 'removed';
  }
  const common = await commonDir(path);
  if (!common) return forget(path); // git does not know it: its repository lost track of it
  const status = await execa('git', ['-C', path, 'status', '--porcelain'], { reject: false, timeout: 10_000 });
  const changed = status.stdout.split('\n').filter(Boolean).length;
  if (status.exitCode !== 0 || changed > 0)
    return { failed: `it has ${changed} changed files now: left for review (scan again)` };
  const r = await execa('git', ['-C', common, 'worktree', 'remove', path], { reject: false, timeout: 30_000 });
  if (r.exitCode !== 0) {
    if (/is not a working tree/.test(r.stderr)) return forget(path);
    return { failed: `git worktree remove failed: ${r.stderr.trim()}` };
  }
  await execa('git', ['-C', common, 'worktree', 'prune'], { reject: false });
  return 'removed';
}

/** An operator-confirmed removal, changes and all. */
async function removeAnyWorktree(path: string): Promise<CleanupOutcome> {
  if (!existsSync(path)) return 'gone';
  const common = isLinkedWorktree(path) ? await commonDir(path) : undefined;
  if (!common) return forget(path);
  await git.removeWorktree(common, path);
  return 'removed';
}

/** rm -rf of a lane folder git does not know, then a prune in the repository its `.git` file names. */
async function forget(path: string): Promise<CleanupOutcome> {
  const gitdir = gitdirOf(path);
  rmSync(path, { recursive: true, force: true });
  // .git/worktrees/<name> → the repository's .git, where `worktree prune` drops the stale entry.
  if (gitdir && existsSync(resolve(gitdir, '../..')))
    await execa('git', ['-C', resolve(gitdir, '../..'), 'worktree', 'prune'], { reject: false });
  return 'removed';
}

function removeTempFile(path: string): CleanupOutcome {
  try {
    if (!lstatSync(path).isFile()) return { failed: 'it is no regular file any more' };
    unlinkSync(path);
    return 'removed';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : { failed: why(e) };
  }
}

/** A linked worktree has a `.git` file (a main checkout has a folder): the only kind cleanup removes via git. */
const isLinkedWorktree = (path: string) => {
  try {
    return lstatSync(`${path}/.git`).isFile();
  } catch {
    return false;
  }
};

function gitdirOf(path: string): string | undefined {
  try {
    const m = /^gitdir: (.+)$/m.exec(readFileSync(`${path}/.git`, 'utf8'));
    return m ? resolve(path, m[1]!.trim()) : undefined;
  } catch {
    return undefined;
  }
}

async function commonDir(path: string): Promise<string | undefined> {
  const r = await execa('git', ['-C', path, 'rev-parse', '--path-format=absolute', '--git-common-dir'], {
    reject: false,
    timeout: 10_000,
  });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

const ID_SHAPE: Record<OrphanItem['kind'], (i: OrphanItem) => boolean> = {
  process: (i) => /^process:\d+:\d+$/.test(i.id) && i.id.split(':')[1] === i.ref && Number(i.ref) > 1,
  tmuxSession: (i) => i.ref.length > 0 && i.id === `tmux:${i.ref}`,
  worktree: (i) => i.id === `worktree:${i.ref}` && isAbsolute(i.ref) && resolve(i.ref) === i.ref && i.ref !== sep,
  tempFile: (i) => i.id === `file:${i.ref}` && isAbsolute(i.ref) && resolve(i.ref) === i.ref && i.ref.endsWith('.tmp'),
};

/** Refuses the whole batch before anything is touched when one item is not what a scan reports. */
function checkItems(items: OrphanItem[], worktreesDir?: string): void {
  for (const [n, item] of items.entries()) {
    const shape = ID_SHAPE[item?.kind];
    let wrong = !shape
      ? `kind "${String(item?.kind)}" is not one of ${Object.keys(ID_SHAPE).join(', ')}`
      : !shape(item)
        ? `id "${item.id}" does not match its ${item.kind} "${item.ref}"`
        : undefined;
    if (!wrong && worktreesDir && item.kind === 'worktree' && !item.ref.startsWith(worktreesDir + sep))
      wrong = `${item.ref} is not inside tether's worktrees folder ${worktreesDir}`;
    if (wrong)
      throw new TetherError(
        'INVALID_COMMAND',
        `orphan item ${n} cannot be cleaned: ${wrong}; nothing was touched. Pass the items exactly as the last scan (or \`tether recovery review\`) listed them`,
        { issues: [{ path: [n], message: wrong }] },
      );
  }
}
