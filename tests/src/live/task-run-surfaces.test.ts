import { describe, expect, it } from 'vitest';
import { Items, LiveLinkReply, LiveSessionView, OperatorMessage, TaskRunView } from '@tether/contracts';
import { api, asActor, eventually, useControlPlane } from '../harness/index.ts';
import { agentCommand, getRun, readyLane, runUntil, startRun } from './task-helpers.ts';

// The HTTP surfaces of task runs and live sessions, against a whole tether with the real task runner and
// the native live-session provider: each route's happy path and a bad input that is refused with a
// clear error and changes nothing. Every response is also checked against /openapi.json (the harness).
const cp = useControlPlane();
type Rejected = { ok: false; error: { code: string; reason?: string; message: string } };
const runs = '/v1/task-runs';

describe('task runs over HTTP', () => {
  it("run answers with the running run, its READY live session and the caller's read-only link; bad bodies change nothing", async () => {
    const { lane, reply } = await startRun(cp, { name: 'surfaces' });
    const run = reply.task_run;
    expect(run).toMatchObject({ lane_id: lane.lane_id, name: 'surfaces', status: 'running', started_by: 'human:ops' });
    expect(run.agent_pid).toBeGreaterThan(0);
    expect(run.live_session).toMatchObject({ status: 'ready', provider: 'native', task_run_id: run.task_run_id });
    expect(reply.link?.url).toMatch(new RegExp(`^${cp.url}/v/[\\w-]+#t=.+`));
    expect(reply.endpoints).toBeNull();

    const before = Items(TaskRunView).parse((await api(cp, 'GET', runs)).body).items.length;
    for (const bad of [
      { lane_id: lane.lane_id, command: [] },
      { lane_id: lane.lane_id },
      { lane_id: 'no such lane!', command: ['true'] },
      { lane_id: lane.lane_id, command: ['true'], colour: 'red' },
    ]) {
      const r = await api<Rejected>(cp, 'POST', runs, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_COMMAND');
      expect(r.body.error.message).toMatch(/invalid request body/);
    }
    expect(Items(TaskRunView).parse((await api(cp, 'GET', runs)).body).items).toHaveLength(before);

    // A lane that does not exist: refused by taskRun.run's check, with what to do.
    const missing = await api<Rejected>(cp, 'POST', runs, { lane_id: 'lane-nope', command: ['true'] });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(missing.body.error.message).toMatch(/lane-nope/);
  });

  it('list (by lane, live only) and get; an unknown or malformed run id is a clear error', async () => {
    const [{ reply: a }, { reply: b }] = await Promise.all([startRun(cp), startRun(cp, { live: false })]);
    const all = Items(TaskRunView)
      .parse((await api(cp, 'GET', runs)).body)
      .items.map((r) => r.task_run_id);
    expect(all).toEqual(expect.arrayContaining([a.task_run.task_run_id, b.task_run.task_run_id]));
    const ofLane = Items(TaskRunView).parse((await api(cp, 'GET', `${runs}?lane_id=${b.task_run.lane_id}`)).body);
    expect(ofLane.items.map((r) => r.task_run_id)).toEqual([b.task_run.task_run_id]);
    expect(ofLane.items[0]!.live_session).toBeNull();
    const live = Items(TaskRunView).parse((await api(cp, 'GET', `${runs}?live=true`)).body).items;
    expect(live.map((r) => r.task_run_id)).toContain(a.task_run.task_run_id);
    expect(live.map((r) => r.task_run_id)).not.toContain(b.task_run.task_run_id);
    expect((await api<Rejected>(cp, 'GET', `${runs}?live=maybe`)).status).toBe(400);

    expect((await getRun(cp, a.task_run.task_run_id)).live_session?.status).toBe('ready');
    const unknown = await api<Rejected>(cp, 'GET', `${runs}/tr-nope`);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'NOT_FOUND']);
    expect(unknown.body.error.message).toMatch(/tether task list/);
    const malformed = await api<Rejected>(cp, 'GET', `${runs}/${encodeURIComponent('bad id!')}`);
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'INVALID_COMMAND']);
  });

  it('control: soft pause, resume, hard pause (honoured: SIGSTOP), cancel while paused; a bad action or a wrong state is refused', async () => {
    const { reply } = await startRun(cp);
    const id = reply.task_run.task_run_id;
    const control = (body: unknown) => api<LiveLinkReply & Rejected>(cp, 'POST', `${runs}/${id}/control`, body);

    const soft = await control({ action: 'pause', reason: 'look at this' });
    expect(soft.status).toBe(200);
    expect(LiveLinkReply.parse(soft.body).task_run).toMatchObject({
      status: 'paused',
      pause: { mode: 'soft', by: 'human:ops', reason: 'look at this' },
    });
    const again = await control({ action: 'pause' });
    expect([again.status, again.body.error.reason]).toEqual([409, 'TASK_RUN_PAUSED']);
    expect((await control({ action: 'resume' })).body.task_run.status).toBe('running');
    const notPaused = await control({ action: 'resume' });
    expect([notPaused.status, notPaused.body.error.reason]).toEqual([409, 'TASK_RUN_NOT_PAUSED']);

    const hard = LiveLinkReply.parse((await control({ action: 'pause', mode: 'hard' })).body).task_run;
    expect(hard.pause).toMatchObject({ mode: 'hard' });
    const honoured = await runUntil(cp, id, (r) => r.pause?.honoured_at != null);
    expect(honoured.status).toBe('paused');

    for (const bad of [{ action: 'sleep' }, { action: 'pause', mode: 'gentle' }, {}, { action: 'release' }]) {
      const r = await control(bad);
      expect([r.status, r.body.error.code], JSON.stringify(bad)).toEqual([400, 'INVALID_COMMAND']);
    }
    expect((await getRun(cp, id)).control_seq).toBe(hard.control_seq);

    const cancelled = await control({ action: 'cancel', reason: 'enough' });
    expect(cancelled.status).toBe(200);
    const ended = await runUntil(cp, id, (r) => r.status === 'cancelled');
    expect(ended.ended).toMatchObject({ status: 'cancelled', reason: 'enough' });
  });

  it('operator messages: sent (201, its seq), listed oldest first; an empty or oversized one is refused', async () => {
    const { reply } = await startRun(cp);
    const id = reply.task_run.task_run_id;
    const path = `${runs}/${id}/operator-messages`;
    const first = await api(cp, 'POST', path, { message: 'use the staging db' });
    expect(first.status).toBe(201);
    expect(OperatorMessage.parse(first.body)).toMatchObject({
      task_run_id: id,
      actor: 'human:ops',
      message: 'use the staging db',
      seq: 1,
    });
    const second = OperatorMessage.parse((await api(cp, 'POST', path, { message: 'and run the tests' })).body);
    expect(second.seq).toBe(2);
    // A resend with the same Idempotency-Key is the same message, not a third.
    const key = { 'idempotency-key': `msg-${id}` };
    const once = OperatorMessage.parse((await api(cp, 'POST', path, { message: 'once' }, key)).body);
    const twice = OperatorMessage.parse((await api(cp, 'POST', path, { message: 'once' }, key)).body);
    expect(twice).toEqual(once);

    const listed = Items(OperatorMessage).parse((await api(cp, 'GET', path)).body).items;
    expect(listed.map((m) => [m.seq, m.message])).toEqual([
      [1, 'use the staging db'],
      [2, 'and run the tests'],
      [3, 'once'],
    ]);
    expect((await getRun(cp, id)).messages).toBe(3);

    for (const bad of [{ message: '' }, {}, { message: 'x'.repeat(4_001) }, { message: 'hi', to: 'agent' }]) {
      const r = await api<Rejected>(cp, 'POST', path, bad);
      expect([r.status, r.body.error.code]).toEqual([400, 'INVALID_COMMAND']);
    }
    expect((await getRun(cp, id)).messages).toBe(3);
  });

  it("live session: get, enable again (same session, a link of one's own), grant-write with an expiry, revoke-write, revoke-session", async () => {
    const { reply } = await startRun(cp);
    const id = reply.task_run.task_run_id;
    const ls = `${runs}/${id}/live-session`;
    const view = LiveSessionView.parse((await api(cp, 'GET', ls)).body);
    expect(view).toMatchObject({ status: 'ready', task_run_id: id, grants: [], owner: 'human:ops' });
    expect(view.ms_left).toBeGreaterThan(0);

    // Another operator watching gets a link of their own, to the same session.
    const carol = await asActor(cp, 'human:carol', 'operator');
    const theirs = LiveLinkReply.parse((await api(carol, 'POST', ls, {})).body);
    expect(theirs.task_run.live_session?.live_session_id).toBe(view.live_session_id);
    expect(theirs.link?.url).toMatch(/\/v\/[\w-]+#t=/);
    expect(theirs.link?.url).not.toBe(reply.link?.url);
    expect((await api<Rejected>(cp, 'POST', ls, { provider: 'zoom' })).status).toBe(400);

    const granted = await api(cp, 'POST', `${ls}/grant-write`, { to: 'human:bob', ttl_ms: 120_000 });
    expect(granted.status).toBe(200);
    const g = LiveLinkReply.parse(granted.body);
    expect(g.link?.url).toMatch(/\/v\/[\w-]+#t=/);
    const grant = g.task_run.live_session!.grants.find((x) => x.to === 'human:bob')!;
    expect(grant.ms_left).toBeGreaterThan(100_000);
    expect(grant.ms_left).toBeLessThanOrEqual(120_000);
    expect(Date.parse(grant.expires_at) - Date.parse(grant.granted_at)).toBe(120_000);
    const badGrant = await api<Rejected>(cp, 'POST', `${ls}/grant-write`, { to: 'bob smith', ttl_ms: -1 });
    expect([badGrant.status, badGrant.body.error.code]).toEqual([400, 'INVALID_COMMAND']);

    const write = LiveSessionView.parse(
      (await api(cp, 'POST', `${ls}/revoke`, { scope: 'write', to: 'human:bob', reason: 'done' })).body,
    );
    expect(write.status).toBe('ready');
    expect(write.grants.map((x) => x.to)).not.toContain('human:bob');
    const mixed = await api<Rejected>(cp, 'POST', `${ls}/revoke`, { scope: 'session', to: 'human:bob' });
    expect([mixed.status, mixed.body.error.code]).toEqual([400, 'INVALID_COMMAND']);
    expect((await api<Rejected>(cp, 'POST', `${ls}/revoke`, { scope: 'everything' })).status).toBe(400);

    const ended = LiveSessionView.parse((await api(cp, 'POST', `${ls}/revoke`, { scope: 'session' })).body);
    expect(ended).toMatchObject({ status: 'revoked', ended: { status: 'revoked', by: 'human:ops' } });
    // The run goes on without it; write is refused unless the session is READY.
    expect((await getRun(cp, id)).status).toBe('running');
    const refused = await api<Rejected>(cp, 'POST', `${ls}/grant-write`, {});
    expect(refused.status).toBe(409);
  });

  it('a run without a live session: GET live-session is 404 with what to do; enabling starts one', async () => {
    const { reply } = await startRun(cp, { live: false });
    const id = reply.task_run.task_run_id;
    expect(reply.link).toBeNull();
    const none = await api<Rejected>(cp, 'GET', `${runs}/${id}/live-session`);
    expect([none.status, none.body.error.code]).toEqual([404, 'NOT_FOUND']);
    expect(none.body.error.message).toMatch(/POST \/v1\/task-runs\/.*\/live-session/);
    const on = LiveLinkReply.parse((await api(cp, 'POST', `${runs}/${id}/live-session`)).body);
    expect(on.task_run.live_session?.status).toBe('ready');
    expect(on.link?.url).toMatch(/#t=/);
  });

  it('takeover gives the caller a read-write link with an expiry; release needs a summary, which lands in the inbox', async () => {
    const { reply } = await startRun(cp);
    const id = reply.task_run.task_run_id;
    const control = (body: unknown) => api<LiveLinkReply & Rejected>(cp, 'POST', `${runs}/${id}/control`, body);
    const took = LiveLinkReply.parse((await control({ action: 'takeover', reason: 'stuck in a loop' })).body);
    expect(took.task_run).toMatchObject({ status: 'paused', takeover: { by: 'human:ops', reason: 'stuck in a loop' } });
    expect(took.link?.url).toMatch(/\/v\/[\w-]+#t=/);
    const grant = took.task_run.live_session!.grants.find((g) => g.participant_id === took.link!.participant_id)!;
    expect(grant).toMatchObject({ to: 'human:ops' });
    expect(grant.ms_left).toBeGreaterThan(0);
    // Resume is not how a takeover ends; a release without a summary is refused.
    expect((await control({ action: 'resume' })).body.error.reason).toBe('TASK_RUN_TAKEN_OVER');
    expect((await control({ action: 'release' })).status).toBe(400);
    expect((await control({ action: 'release', summary: '' })).status).toBe(400);

    const released = LiveLinkReply.parse((await control({ action: 'release', summary: 'fixed the loop' })).body);
    expect(released.task_run).toMatchObject({ status: 'running', takeover: null, messages: 1 });
    const inbox = Items(OperatorMessage).parse((await api(cp, 'GET', `${runs}/${id}/operator-messages`)).body);
    expect(inbox.items).toMatchObject([{ seq: 1, actor: 'human:ops', message: 'fixed the loop' }]);
    const after = await eventually(
      () => getRun(cp, id),
      (r) => (r.live_session?.grants ?? []).every((g) => g.participant_id !== took.link!.participant_id),
    );
    expect(after.status).toBe('running');
  });

  it("a member may read runs but not control them (the operators' rule)", async () => {
    const lane = await readyLane(cp);
    const bob = await asActor(cp, 'human:bob', 'member');
    const r = await api<Rejected>(bob, 'POST', runs, { lane_id: lane.lane_id, command: agentCommand({ steps: 5 }) });
    expect([r.status, r.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await api(bob, 'GET', runs)).status).toBe(200);
  });
});
