import { execa } from 'execa';
import type { GitSummary } from '@tether/contracts';

async function git(dir: string, args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await execa('git', ['-C', dir, ...args], { reject: false, timeout: 10_000 });
  return { ok: r.exitCode === 0, out: r.stdout, err: r.stderr.trim() };
}

/** `git status --porcelain=v2 --branch` in counts: the branch, its upstream's ahead/behind, and the files by kind of change. */
export function parsePorcelainV2(text: string) {
  const s = {
    branch: null as string | null,
    upstream: null as string | null,
    ahead: null as number | null,
    behind: null as number | null,
  };
  const n = { staged: 0, unstaged: 0, untracked: 0, conflicted: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('# branch.head ')) {
      const head = line.slice('# branch.head '.length);
      s.branch = head === '(detached)' ? null : head;
    } else if (line.startsWith('# branch.upstream ')) s.upstream = line.slice('# branch.upstream '.length);
    else if (line.startsWith('# branch.ab ')) {
      const m = /^# branch\.ab \+(\d+) -(\d+)$/.exec(line);
      if (m) [s.ahead, s.behind] = [Number(m[1]), Number(m[2])];
    } else if (line.startsWith('1 ') || line.startsWith('2 ')) {
      // "1 XY …": X is the index (staged), Y the worktree (unstaged); "." is unchanged.
      const [x, y] = [line[2], line[3]];
      if (x !== '.') n.staged++;
      if (y !== '.') n.unstaged++;
    } else if (line.startsWith('u ')) n.conflicted++;
    else if (line.startsWith('? ')) n.untracked++;
  }
  return { ...s, ...n };
}

/**
 * The lane's git status: branch, ahead/behind its upstream (else the branch the repository's main
 * worktree has out, which a lane's branch was made from), and changed files by kind. Real git.
 */
export async function gitSummary(worktree: string): Promise<GitSummary> {
  const st = await git(worktree, ['status', '--porcelain=v2', '--branch', '--untracked-files=normal']);
  if (!st.ok) throw new Error(`git status in ${worktree} failed: ${st.err}`);
  const p = parsePorcelainV2(st.out);
  const summary: GitSummary = {
    branch: p.branch,
    base: p.upstream,
    ahead: p.ahead,
    behind: p.behind,
    staged: p.staged,
    unstaged: p.unstaged,
    untracked: p.untracked,
    conflicted: p.conflicted,
  };
  if (p.upstream || !p.branch) return summary;
  const base = await mainWorktreeBranch(worktree);
  if (!base || base === p.branch) return summary;
  const ab = await git(worktree, ['rev-list', '--left-right', '--count', `${base}...HEAD`]);
  const m = /^(\d+)\s+(\d+)$/.exec(ab.out.trim());
  return m && ab.ok ? { ...summary, base, behind: Number(m[1]), ahead: Number(m[2]) } : summary;
}

/** The branch checked out in the repository's main worktree (the first `git worktree list` names). */
async function mainWorktreeBranch(worktree: string): Promise<string | null> {
  const r = await git(worktree, ['worktree', 'list', '--porcelain']);
  if (!r.ok) return null;
  const first = r.out.split('\n\n')[0] ?? '';
  const ref = /^branch refs\/heads\/(.+)$/m.exec(first)?.[1];
  return ref ?? null;
}
