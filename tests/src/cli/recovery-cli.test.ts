import { describe, expect, it } from 'vitest';
import { Items, OrphanView, RecoveryStatusView, RecoveryView } from '@tether/contracts';
import { eventually, recoverySteps, runCli, uid, useControlPlane } from '../harness/index.ts';

// `tether recovery …` against a real tether (in-process server, real nats-server). The recovery runner
// is not part of this branch: the runs are written as it writes them, through the actor host as the
// system actor, stage by stage.
const cp = useControlPlane();
const tether = async (...args: string[]) => {
  const r = await runCli(cp, args);
  return { ...r, json: () => JSON.parse(r.stdout) as unknown };
};

const { begin, finish } = recoverySteps(cp);

const worktree = {
  id: 'worktree:/tmp/orphan-wt',
  kind: 'worktree',
  ref: '/tmp/orphan-wt',
  reason: 'uncommitted changes',
};
const tempFile = { id: 'tempFile:/tmp/x.tmp', kind: 'tempFile', ref: '/tmp/x.tmp', reason: 'not clearly tether’s' };

const runId = uid('rec');

/** A run in safe mode up to RESTORING with one of its two terminals back. */
const startRun = (id: string) => begin(id, { safeMode: true });

/** The rest: the other terminal lost, lanes checked, orphans reconciled with two left for review. */
const finishRun = (id: string) => finish(id, { needsReview: [worktree, tempFile], missingLanes: ['lane-2'] });

const statusJson = async () => RecoveryStatusView.parse((await tether('recovery', 'status', '--json')).json());

describe('tether recovery', () => {
  it('with no run: status and review say so plainly; clean --all has nothing to do', async () => {
    const s = await tether('recovery', 'status');
    expect([s.exitCode, s.stderr]).toEqual([0, '']);
    expect(s.stdout).toBe('safe mode: off\nno recovery run: tether has not had to recover from a crash');
    expect(await statusJson()).toEqual({ safe_mode: null, latest: null, recovering: false });
    const r = await tether('recovery', 'review');
    expect(r.stdout).toBe('nothing to review: no orphan is waiting for a decision');
    expect(Items(OrphanView).parse((await tether('recovery', 'review', '--json')).json()).items).toEqual([]);
    const c = await tether('recovery', 'clean', '--all', '--reason', 'tidy');
    expect([c.exitCode, c.stdout]).toEqual([0, 'nothing to review: no orphan is waiting for a decision']);
  });

  it('status while a run is going on, then after it is live with issues, in safe mode', async () => {
    await startRun(runId);
    const going = await eventually(statusJson, (s) => s.latest?.progress.done === 1);
    expect(going).toMatchObject({
      recovering: true,
      latest: { recovery_id: runId, status: 'restoring', stage_text: 'Restoring sessions... 1 of 2 complete.' },
    });
    const text = (await tether('recovery', 'status')).stdout;
    expect(text).toContain('a recovery run is going on (restoring)');
    expect(text).toContain(`latest run ${runId} (restoring, started `);
    expect(text).toContain('orphans: not reconciled yet');

    await finishRun(runId);
    const done = await eventually(statusJson, (s) => s.latest?.status === 'liveWithIssues');
    expect(done.recovering).toBe(false);
    expect(done.safe_mode).toMatchObject({ active: true, crashes: 3, recovery_id: runId });
    const s = await tether('recovery', 'status');
    expect(s.stdout.split('\n')).toEqual([
      `safe mode: ON since run ${runId}: 3 crashes within 60 s (3 crashes)`,
      '  off while it lasts: share workers, the harness monitor, new terminals',
      '  to leave it: tether recovery leave-safe-mode --reason "<why it is safe now>"',
      'no recovery run is going on',
      expect.stringMatching(
        new RegExp(
          `^latest run ${runId} \\(liveWithIssues, started .*\\): Recovery complete with issues: 0 reattached, 1 respawned, 1 failed\\.$`,
        ),
      ),
      '  0 reattached, 1 respawned, 1 failed; orphans: 3 found, 1 terminated, 0 removed, 2 need review',
      `  details: tether recovery show ${runId}`,
    ]);
  });

  it('show, by id or a unique prefix: crashes, stages, each terminal with reason and what to do, orphans', async () => {
    const prefix = runId.slice(0, -2);
    const h = await tether('recovery', 'show', prefix);
    expect([h.exitCode, h.stderr]).toEqual([0, '']);
    const lines = h.stdout.split('\n');
    expect(lines[0]).toBe(`recovery ${runId}: liveWithIssues`);
    expect(lines).toEqual(
      expect.arrayContaining([
        '  stages reached: detecting → inventorying → restoring → reconciling → liveWithIssues',
        '    2026-01-01T00:00:12.000Z  instance inst-old pid 4242: exited, signal SIGKILL; last heartbeat 2026-01-01T00:00:10.000Z',
        '  tmux: gone',
        '  terminals (2 of 2 done; 0 reattached, 1 respawned, 1 failed):',
        '    t-back  lane lane-1  plan respawn  respawned',
        '    t-lost  lane lane-1  plan respawn  failed: cwd_missing: /gone does not exist any more',
        expect.stringMatching(/^ {6}what to do: its working directory is gone/),
        '  lanes checked: 1 present, worktree missing: lane-2',
        '  orphans: 3 found, 1 terminated, 0 removed, 2 need review',
        '    worktree:/tmp/orphan-wt  worktree  /tmp/orphan-wt  (uncommitted changes)',
      ]),
    );
    expect(h.stdout).toMatch(/^ {2}duration: \d+ ms$/m);

    const j = RecoveryView.parse((await tether('recovery', 'show', runId, '--json')).json());
    expect(j).toMatchObject({
      recovery_id: runId,
      status: 'liveWithIssues',
      result: {
        restored: 0,
        respawned: 1,
        failed: [{ terminal: 't-lost', reason: 'cwd_missing: /gone does not exist any more' }],
      },
      orphans: { total_found: 3, cleanup: { terminated: 1, review_pending: 2 } },
    });

    const missing = await tether('recovery', 'show', 'no-such-run');
    expect([missing.exitCode, missing.stdout]).toEqual([1, '']);
    expect(missing.stderr).toMatch(/^error NOT_FOUND: recovery no-such-run does not exist/);
  });

  it('review: the orphans needing review as a table, and as JSON', async () => {
    const r = await tether('recovery', 'review');
    expect(r.stdout.split('\n')).toEqual([
      expect.stringMatching(/^ID +KIND +REF +REASON +RUN$/),
      expect.stringMatching(
        new RegExp(`^worktree:/tmp/orphan-wt +worktree +/tmp/orphan-wt +uncommitted changes +${runId}$`),
      ),
      expect.stringMatching(
        new RegExp(`^tempFile:/tmp/x\\.tmp +tempFile +/tmp/x\\.tmp +not clearly tether’s +${runId}$`),
      ),
      'clean them: tether recovery clean --reason "<why>" (--all | <id>...)',
    ]);
    const j = Items(OrphanView).parse((await tether('recovery', 'review', '--json')).json());
    expect(j.items).toEqual([
      { ...worktree, recovery_id: runId },
      { ...tempFile, recovery_id: runId },
    ]);
  });

  it('clean: refused as a usage error without --reason or without --all or ids; an unknown id is NOT_FOUND', async () => {
    const noReason = await tether('recovery', 'clean', worktree.id);
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toMatch(/^error INVALID_COMMAND: --reason is required/);
    const nothing = await tether('recovery', 'clean', '--reason', 'tidy', '--json');
    expect(nothing.exitCode).toBe(2);
    expect(JSON.parse(nothing.stderr)).toMatchObject({
      ok: false,
      error: {
        code: 'INVALID_COMMAND',
        message: expect.stringMatching(/^name what to clean: --all, or the orphan ids/),
      },
    });
    const unknown = await tether('recovery', 'clean', 'process:1', '--reason', 'tidy');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/NOT_FOUND: not waiting for review: process:1; `tether recovery review` lists/);
    // None of these reached the run.
    const events = await cp.ctx.store.readEntity('recovery', runId);
    expect(events.map((e) => e.event.type)).not.toContain('recovery.cleanReview');
  });

  it('clean <id> --reason: the run accepts the command, recorded with who and why (the cleanup itself is the reactor’s)', async () => {
    const c = await tether('recovery', 'clean', worktree.id, '--run', runId, '--reason', 'my old experiment', '--json');
    expect([c.exitCode, c.stderr]).toEqual([0, '']);
    const out = c.json() as { items: unknown[]; runs: unknown[] };
    expect(out.items).toEqual([
      { recovery_id: runId, requested: [worktree.id], cleaned: [], still_pending: [worktree.id] },
    ]);
    expect(RecoveryView.array().parse(out.runs)).toHaveLength(1);
    const events = await cp.ctx.store.readEntity('recovery', runId);
    expect(events.find((e) => e.event.type === 'recovery.cleanReview')?.event).toMatchObject({
      type: 'recovery.cleanReview',
      actor: { kind: 'human', id: 'ops' },
      data: { items: [worktree.id], reason: 'my old experiment' },
    });
    const human = await tether('recovery', 'clean', '--all', '--reason', 'all of it');
    expect(human.stdout).toContain(`run ${runId}: clean of 2 accepted`);
    const asked = (await cp.ctx.store.readEntity('recovery', runId)).filter(
      (e) => e.event.type === 'recovery.cleanReview',
    );
    expect(asked.at(-1)?.event).toMatchObject({ type: 'recovery.cleanReview', data: { reason: 'all of it' } });
  });

  it('leave-safe-mode: needs --reason; then share workers, the monitor and new terminals start again; only once', async () => {
    const bare = await tether('recovery', 'leave-safe-mode');
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toMatch(/^error INVALID_COMMAND: --reason is required/);

    const left = await tether('recovery', 'leave-safe-mode', '--reason', 'the disk is fixed');
    expect([left.exitCode, left.stderr]).toEqual([0, '']);
    expect(left.stdout).toBe('left safe mode: share workers, the harness monitor and new terminals start again');
    const s = await eventually(statusJson, (v) => v.safe_mode === null);
    expect(s.latest?.safe_mode).toMatchObject({ active: false, left_by: 'human:ops' });
    expect((await tether('recovery', 'status')).stdout).toMatch(/^safe mode: off$/m);
    expect((await tether('recovery', 'show', runId)).stdout).toContain(
      `  safe mode: off (left ${s.latest?.safe_mode?.left_at} by human:ops; run ${runId})`,
    );

    const again = await tether('recovery', 'leave-safe-mode', '--reason', 'twice', '--json');
    expect(again.exitCode).toBe(1);
    expect(JSON.parse(again.stderr)).toMatchObject({ error: { code: 'NOT_ALLOWED', reason: 'NOT_IN_SAFE_MODE' } });
  });
});
