import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { gitSummary, parsePorcelainV2 } from './git-status.ts';

const git = (dir: string, ...args: string[]) =>
  execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args]);
const commit = async (dir: string, file: string, text: string) => {
  writeFileSync(join(dir, file), text);
  await git(dir, 'add', file);
  await git(dir, 'commit', '-q', '-m', file);
};

describe("a lane's git status (real git)", () => {
  it("counts against the main worktree's branch when the lane has no upstream; files by kind of change", async () => {
    const repo = mkdtempSync(join(tmpdir(), 'tether-gitsum-'));
    await git(repo, 'init', '-q', '-b', 'main');
    await commit(repo, 'a.txt', 'a\n');
    const lane = join(mkdtempSync(join(tmpdir(), 'tether-gitsum-wt-')), 'lane');
    await git(repo, 'worktree', 'add', '-q', '-b', 'tether/lane-1', lane);
    await commit(lane, 'b.txt', 'b\n'); // the lane is 1 ahead
    await commit(repo, 'c.txt', 'c\n');
    await commit(repo, 'd.txt', 'd\n'); // and 2 behind main
    writeFileSync(join(lane, 'a.txt'), 'changed\n'); // unstaged
    writeFileSync(join(lane, 'b.txt'), 'staged\n');
    await git(lane, 'add', 'b.txt'); // staged
    writeFileSync(join(lane, 'new.txt'), 'new\n'); // untracked
    expect(await gitSummary(lane)).toEqual({
      branch: 'tether/lane-1',
      base: 'main',
      ahead: 1,
      behind: 2,
      staged: 1,
      unstaged: 1,
      untracked: 1,
      conflicted: 0,
    });
  });

  it('reads an upstream, a detached head and conflicts from porcelain v2', () => {
    expect(
      parsePorcelainV2(
        [
          '# branch.oid 0123',
          '# branch.head feature',
          '# branch.upstream origin/feature',
          '# branch.ab +3 -1',
          '1 MM N... 100644 100644 100644 aaaa bbbb f.txt',
          '2 R. N... 100644 100644 100644 aaaa bbbb R100 new.txt\told.txt',
          'u UU N... 100644 100644 100644 100644 aaaa bbbb cccc c.txt',
          '? x.txt',
        ].join('\n'),
      ),
    ).toEqual({
      branch: 'feature',
      upstream: 'origin/feature',
      ahead: 3,
      behind: 1,
      staged: 2,
      unstaged: 1,
      untracked: 1,
      conflicted: 1,
    });
    expect(parsePorcelainV2('# branch.oid 0123\n# branch.head (detached)\n').branch).toBeNull();
  });

  it('a folder that is not a repository is an error with the reason', async () => {
    await expect(gitSummary(mkdtempSync(join(tmpdir(), 'tether-nogit-')))).rejects.toThrow(
      /git status in .* failed: fatal/,
    );
  });
});
