import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git } from '@tether/workers';
import { gitRepo } from '../harness/index.ts';

describe('git worktrees of lanes', () => {
  it('adding the same worktree twice at once succeeds both times (a redelivery racing a git the killed tether left running)', async () => {
    const r = await gitRepo();
    const path = join(mkdtempSync(join(tmpdir(), 'tether-wts-')), 'lane-1');
    await Promise.all([git.addWorktree(r, path, 'tether/lane-1'), git.addWorktree(r, path, 'tether/lane-1')]);
    expect(await git.isWorktree(r, path)).toBe(true);
    await git.addWorktree(r, path, 'tether/lane-1'); // and once more, later: nothing to do
  });

  it('a worktree that cannot be made is still an error', async () => {
    const r = await gitRepo();
    const path = join(mkdtempSync(join(tmpdir(), 'tether-wts-')), 'lane-2');
    writeFileSync(path, 'a file where the worktree should go');
    await expect(git.addWorktree(r, path, 'tether/lane-2')).rejects.toThrow(/git worktree add failed/);
  });
});
