import { existsSync } from 'node:fs';
import { execa } from 'execa';

/** Git operations for lanes; each is idempotent so a redelivered event is harmless. */
export const git = {
  async toplevel(dir: string): Promise<string> {
    const r = await execa('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${dir} is not inside a git repository: ${r.stderr.trim()}`);
    return r.stdout.trim();
  },

  /** `git worktree add -b <branch> <path>` unless that worktree exists already. */
  async addWorktree(repo: string, path: string, branch: string): Promise<void> {
    if (await this.isWorktree(repo, path)) return;
    const hasBranch =
      (await execa('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { reject: false }))
        .exitCode === 0;
    const args = hasBranch ? ['worktree', 'add', path, branch] : ['worktree', 'add', '-b', branch, path];
    const r = await execa('git', ['-C', repo, ...args], { reject: false });
    // Made meanwhile by the same event's earlier delivery (a git left running by a killed tether): done.
    if (r.exitCode !== 0 && !(await this.isWorktree(repo, path)))
      throw new Error(`git worktree add failed: ${r.stderr.trim()}`);
  },

  /** Removes the worktree (forced: a lane's leftovers are the lane's) and prunes what vanished by hand. */
  async removeWorktree(repo: string, path: string): Promise<void> {
    if (existsSync(path)) {
      const r = await execa('git', ['-C', repo, 'worktree', 'remove', '--force', '--force', path], { reject: false });
      if (r.exitCode !== 0 && existsSync(path)) throw new Error(`git worktree remove failed: ${r.stderr.trim()}`);
    }
    await execa('git', ['-C', repo, 'worktree', 'prune'], { reject: false });
  },

  async isWorktree(repo: string, path: string): Promise<boolean> {
    const r = await execa('git', ['-C', repo, 'worktree', 'list', '--porcelain'], { reject: false });
    return r.exitCode === 0 && r.stdout.split('\n').some((l) => l === `worktree ${path}`) && existsSync(path);
  },
};
