import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CommandRejected, Items, LaneView } from '@tether/contracts';
import { api, eventually, uid, useControlPlane } from '../harness/index.ts';

const cp = useControlPlane();
const lanes = (ws = 'ws1') => `/v1/workspaces/${ws}/lanes`;

describe('lanes', () => {
  it('create makes a real git worktree and answers with the contract shape', async () => {
    const r = await api(cp, 'POST', lanes(), { project_context_id: 'proj-1', display_name: 'Fix login' });
    expect(r.status).toBe(201);
    const lane = LaneView.parse(r.body);
    expect(lane).toMatchObject({
      workspace_id: 'ws1',
      project_context_id: 'proj-1',
      display_name: 'Fix login',
      status: 'ready',
      branch: `tether/${lane.lane_id}`,
      error: null,
    });
    expect(existsSync(lane.worktree_path!)).toBe(true);
    const list = await execa('git', ['-C', cp.repo, 'worktree', 'list', '--porcelain']);
    expect(list.stdout).toContain(`worktree ${lane.worktree_path}`);
    expect(LaneView.parse((await api(cp, 'GET', `${lanes()}/${lane.lane_id}`)).body)).toEqual(lane);
    const all = Items(LaneView).parse(
      (
        await eventually(
          () => api(cp, 'GET', lanes()),
          (x) => (x.body as { items: unknown[] }).items.length > 0,
        )
      ).body,
    );
    expect(all.items.map((l) => l.lane_id)).toContain(lane.lane_id);
    expect(LaneView.parse((await api(cp, 'POST', `${lanes()}/${lane.lane_id}/attach`)).body).status).toBe('running');
  });

  it('rejects bad input with a code and changes nothing', async () => {
    const head = await cp.ctx.store.lastStreamSeq();
    const cases: [string, string, unknown, number, string][] = [
      ['POST', lanes('nope'), { project_context_id: 'p', display_name: 'x' }, 404, 'NOT_FOUND'],
      ['POST', lanes(), { display_name: 'x' }, 400, 'INVALID_COMMAND'],
      ['POST', lanes(), { project_context_id: 'p', display_name: 'x', color: 'red' }, 400, 'INVALID_COMMAND'],
      ['GET', `${lanes()}/${uid('ghost')}`, undefined, 404, 'NOT_FOUND'],
      ['POST', `${lanes()}/${uid('ghost')}/cleanup`, {}, 404, 'NOT_FOUND'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await api(cp, method, path, body);
      expect([path, r.status, CommandRejected.parse(r.body).error.code]).toEqual([path, status, code]);
    }
    expect(await cp.ctx.store.lastStreamSeq()).toBe(head);
  });

  it('a workspace that is not a git repository gives a lane in error with the reason', async () => {
    const r = await api(cp, 'POST', lanes('nogit'), { project_context_id: 'p', display_name: 'broken' });
    const lane = LaneView.parse(r.body);
    expect(lane.status).toBe('error');
    expect(lane.error?.reason).toBe('provision_failed');
    expect(lane.error?.message).toMatch(/not a git repository/i);
  });

  it('cleanup removes the worktree and closes the lane; a closed lane refuses with a reason', async () => {
    const lane = LaneView.parse(
      (await api(cp, 'POST', lanes(), { project_context_id: 'p', display_name: 'short-lived' })).body,
    );
    const closed = LaneView.parse(
      (await api(cp, 'POST', `${lanes()}/${lane.lane_id}/cleanup`, { reason: 'done' })).body,
    );
    expect(closed.status).toBe('closed');
    expect(existsSync(lane.worktree_path!)).toBe(false);
    expect((await execa('git', ['-C', cp.repo, 'worktree', 'list'])).stdout).not.toContain(lane.worktree_path!);
    const again = await api(cp, 'POST', `${lanes()}/${lane.lane_id}/attach`);
    expect(again.status).toBe(409);
    expect(CommandRejected.parse(again.body).error).toMatchObject({ code: 'NOT_ALLOWED', reason: 'LANE_CLOSED' });
  });

  it('a lane whose worktree vanished is marked, not silently dropped', async () => {
    const lane = LaneView.parse(
      (await api(cp, 'POST', lanes(), { project_context_id: 'p', display_name: 'doomed' })).body,
    );
    rmSync(lane.worktree_path!, { recursive: true, force: true });
    const marked = await eventually(
      async () => LaneView.parse((await api(cp, 'GET', `${lanes()}/${lane.lane_id}`)).body),
      (l) => l.status === 'error',
      20_000,
    );
    expect(marked.error).toEqual({
      reason: 'worktree_missing',
      message: `worktree ${lane.worktree_path} is gone from disk`,
    });
  });
});
