import { lstatSync, readdirSync, readFileSync, readlinkSync, type Dirent } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { scanProcesses, type ScannedProcess } from '@tether/runtime';
import type { Tmux } from '../terminals/tmux.ts';
import { type LiveSet, MAX_COMMAND_CHARS, OLD_OWNER, type OrphanItem, type OrphanReport } from './orphans.ts';

export interface ScanOptions {
  installationId: string;
  live: LiveSet;
  tmux: Tmux;
  /** `$TETHER_HOME/worktrees`: lanes are `<workspace>/<lane>` folders in it (a worktree directly in it counts too). */
  worktreesDir: string;
  /** Folders whose `*.tmp` files are leftovers of interrupted atomic writes. */
  tempDirs: string[];
  /** A temp file changed since then is this tether's own write in progress; default: when this process started. */
  startedAt?: number;
}

type Verdict = { safe: boolean; item: OrphanItem };

/**
 * One look at everything a crashed tether may have left: /proc (one pass), tmux sessions on tether's
 * socket, folders under the worktrees folder and temp files. When in doubt an item needs review: nothing
 * is ever classified SafeToTerminate unless it carries this installation's marker or tether's own name.
 */
export async function scanOrphans(o: ScanOptions): Promise<OrphanReport> {
  const t0 = performance.now();
  const worktreesDir = resolve(o.worktreesDir);
  const livePaths = [...o.live.lanes.values()].map((p) => resolve(p));
  const listing = await o.tmux.sessionListing();
  const verdicts: Verdict[] = [];

  for (const name of listing.sessions) {
    if (o.live.terminals.has(name)) continue;
    const known = o.live.knownTerminals.has(name);
    verdicts.push({
      safe: known,
      item: {
        id: `tmux:${name}`,
        kind: 'tmuxSession',
        ref: name,
        reason: known
          ? `terminal ${name} is closed but its tmux session is still there`
          : `a tmux session on tether's socket that is no terminal tether knows: cannot tell whose it is`,
        ...(known ? { terminalId: name } : {}),
      },
    });
  }

  const ctx: ProcessContext = {
    installationId: o.installationId,
    live: o.live,
    // The tmux server holds every live terminal: never an orphan, whatever its environment says.
    protectedPids: new Set([...o.live.protectedPids, ...(listing.serverPid ? [listing.serverPid] : [])]),
    worktreesDir,
    livePaths,
  };
  for (const p of scanProcesses()) {
    const v = classifyProcess(p, ctx, () => processCwd(p.pid));
    if (!v) continue;
    const command = commandLine(p.pid);
    // tether's tmux server (or a client of it) when the listing could not name it: never ours to end.
    if (v.safe && !v.item.terminalId && !v.item.shareId && command.includes(o.tmux.socket)) continue;
    verdicts.push({ safe: v.safe, item: { ...v.item, command } });
  }

  const candidates = worktreeFolders(worktreesDir).filter((path) => !livePaths.includes(path));
  verdicts.push(...(await mapLimit(candidates, 8, classifyWorktree)));

  const startedAt = o.startedAt ?? Date.now() - process.uptime() * 1000;
  for (const dir of o.tempDirs)
    for (const path of tempFiles(resolve(dir), startedAt, 3))
      verdicts.push({
        safe: true,
        item: {
          id: `file:${path}`,
          kind: 'tempFile',
          ref: path,
          reason: 'an unfinished temp file of an earlier tether',
        },
      });

  const safeToTerminate = verdicts.filter((v) => v.safe).map((v) => v.item);
  const needsReview = verdicts.filter((v) => !v.safe).map((v) => v.item);
  return { safeToTerminate, needsReview, totalFound: verdicts.length, scannedMs: performance.now() - t0 };
}

export interface ProcessContext {
  installationId: string;
  live: LiveSet;
  protectedPids: Set<number>;
  worktreesDir: string;
  livePaths: string[];
}

/** The rules for one process (pure but for `cwd`, read only for unmarked ones); undefined: not an orphan, or not ours. */
export function classifyProcess(
  p: ScannedProcess,
  ctx: ProcessContext,
  cwd: () => string | undefined,
): Verdict | undefined {
  if (ctx.protectedPids.has(p.pid)) return undefined;
  const base = { id: `process:${p.pid}:${p.startTime}`, kind: 'process' as const, ref: String(p.pid) };
  const owner = p.env.TETHER_OWNER;
  const terminalId = p.env.TETHER_TERMINAL_ID;
  const shareId = p.env.TETHER_SHARE_ID;
  const laneId = p.env.TETHER_LANE_ID;
  const ids = { ...(terminalId ? { terminalId } : {}), ...(shareId ? { shareId } : {}), ...(laneId ? { laneId } : {}) };

  if (owner === ctx.installationId) {
    const { terminals, shares, lanes, knownTerminals } = ctx.live;
    if ((terminalId && terminals.has(terminalId)) || (shareId && shares.has(shareId))) return undefined;
    if (!terminalId && !shareId) {
      if (laneId && lanes.has(laneId)) return undefined;
      // Started by this very tether just now (e.g. a git it runs) when its own environment carries the marker.
      if (p.ppid === process.pid) return undefined;
    }
    const reason = terminalId
      ? `terminal ${terminalId} is ${knownTerminals.has(terminalId) ? 'closed' : 'not live'}`
      : shareId
        ? `share ${shareId} is not active`
        : laneId
          ? `lane ${laneId} is gone`
          : `carries this installation's marker and belongs to no live entity`;
    return { safe: true, item: { ...base, reason, owner, ...ids } };
  }
  if (owner && OLD_OWNER.test(owner))
    return {
      safe: false,
      item: {
        ...base,
        reason: `marked by an older tether (per-pid marker TETHER_OWNER=${owner}): cannot tell whether it is still wanted`,
        owner,
        ...ids,
      },
    };
  if (owner) return undefined; // another data folder's tether
  const dir = cwd();
  if (!dir || !inside(dir, ctx.worktreesDir) || ctx.livePaths.some((p) => inside(dir, p))) return undefined;
  return {
    safe: false,
    item: { ...base, reason: `works in tether's worktree folder ${dir} but carries no marker`, ...ids },
  };
}

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);

function processCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .replace(/\0+$/, '')
      .replace(/\0/g, ' ')
      .slice(0, MAX_COMMAND_CHARS);
  } catch {
    return '';
  }
}

const dirs = (path: string): Dirent[] => {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory());
  } catch {
    return [];
  }
};
const isGitFolder = (path: string) => {
  try {
    lstatSync(join(path, '.git'));
    return true;
  } catch {
    return false;
  }
};

/** Lane folders: `<root>/<workspace>/<lane>`, or a worktree right in the root. */
function worktreeFolders(root: string): string[] {
  const out: string[] = [];
  for (const d of dirs(root)) {
    const path = join(root, d.name);
    if (isGitFolder(path)) out.push(path);
    else for (const lane of dirs(path)) out.push(join(path, lane.name));
  }
  return out;
}

async function classifyWorktree(path: string): Promise<Verdict> {
  const base = { id: `worktree:${path}`, kind: 'worktree' as const, ref: path, laneId: basename(path) };
  if (!isGitFolder(path)) {
    let entries: number;
    try {
      entries = readdirSync(path).length;
    } catch {
      entries = 0; // gone meanwhile: nothing to lose
    }
    return entries === 0
      ? { safe: true, item: { ...base, reason: 'an empty lane folder that no live lane uses' } }
      : {
          safe: false,
          item: { ...base, reason: `not a git worktree (${entries} entries): cannot tell whose they are` },
        };
  }
  const r = await execa('git', ['-C', path, 'status', '--porcelain'], { reject: false, timeout: 10_000 });
  if (r.exitCode !== 0)
    return {
      safe: false,
      item: { ...base, reason: `git cannot read it (${(r.stderr || 'timed out').trim().split('\n')[0]})` },
    };
  const changed = r.stdout.split('\n').filter(Boolean).length;
  return changed > 0
    ? { safe: false, item: { ...base, reason: `uncommitted changes: ${changed} files` } }
    : { safe: true, item: { ...base, reason: 'no live lane uses it and it has no uncommitted changes' } };
}

/** `*.tmp` files under `dir`, `depth` folders deep, last changed before `before` (older writes than this tether's). */
function tempFiles(dir: string, before: number, depth: number): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory() && depth > 0) out.push(...tempFiles(path, before, depth - 1));
    else if (e.isFile() && e.name.endsWith('.tmp')) {
      try {
        if (lstatSync(path).mtimeMs < before) out.push(path);
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return out;
}

/** fn over items with at most `limit` running at once, results in order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
