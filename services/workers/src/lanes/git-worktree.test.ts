import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { git } from './git-worktree.ts';

async function repo(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-wt-'));
  const run = (...args: string[]) => execa('git', ['-C', dir, ...args]);
  await run('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), '# r\n');
  await run('add', '.');
  await run('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init');
  return dir;
}

describe('git worktrees of lanes', () => {
  it('adding the same worktree twice at once succeeds both times (a redelivery racing a git the killed tether left running)', async () => {
    const r = await repo();
    const path = join(mkdtempSync(join(tmpdir(), 'tether-wts-')), 'lane-1');
    await Promise.all([git.addWorktree(r, path, 'tether/lane-1'), git.addWorktree(r, path, 'tether/lane-1')]);
    expect(await git.isWorktree(r, path)).toBe(true);
    await git.addWorktree(r, path, 'tether/lane-1'); // and once more, later: nothing to do
  });

  it('a worktree that cannot be made is still an error', async () => {
    const r = await repo();
    const path = join(mkdtempSync(join(tmpdir(), 'tether-wts-')), 'lane-2');
    writeFileSync(path, 'a file where the worktree should go');
    await expect(git.addWorktree(r, path, 'tether/lane-2')).rejects.toThrow(/git worktree add failed/);
  });
});
