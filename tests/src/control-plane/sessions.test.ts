import { describe, expect, it } from 'vitest';
import { CommandRejected, Items, LaneView, SessionView } from '@tether/contracts';
import { sendCommand } from '@tether/runtime';
import { api, cmd, useControlPlane } from '../harness/index.ts';

const cp = useControlPlane();
const newLane = async () =>
  LaneView.parse(
    (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'agent' })).body,
  );
const ensure = (laneId: string, body: Record<string, unknown> = { provider: 'codex' }) =>
  api(cp, 'POST', `/v1/workspaces/ws1/lanes/${laneId}/sessions`, body);

describe('sessions', () => {
  it('ensure starts one session and returns it again (codex session continuity)', async () => {
    const lane = await newLane();
    const first = await ensure(lane.lane_id);
    expect(first.status).toBe(200);
    const s = SessionView.parse(first.body);
    // No harness configured in this server: the route says so.
    expect(s).toMatchObject({ lane_id: lane.lane_id, status: 'attached', transport: 'native_openai' });
    expect(s.diagnostics.degrade_reason).toMatch(/^harness_unavailable: not_configured/);
    expect(SessionView.parse((await ensure(lane.lane_id)).body)).toEqual(s);
    const list = Items(SessionView).parse(
      (await api(cp, 'GET', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`)).body,
    );
    expect(list.items.map((x) => x.session_id)).toContain(s.session_id);
  });

  it('racing ensures on one lane yield exactly one session', async () => {
    const lane = await newLane();
    const replies = await Promise.all(Array.from({ length: 12 }, () => ensure(lane.lane_id)));
    const ids = new Set(replies.map((r) => SessionView.parse(r.body).session_id));
    expect(ids.size).toBe(1);
    const sessions = await cp.ctx.store.readAll({ filter: 'tether.evt.session.*' });
    const created: string[] = [];
    for await (const e of sessions)
      if (e.event.type === 'session.create' && (e.event.data as { laneId: string }).laneId === lane.lane_id)
        created.push(e.event.entityId);
    expect(created).toEqual([...ids]);
  });

  it('one codex session id belongs to one active session across lanes', async () => {
    const [a, b] = [await newLane(), await newLane()];
    const codex = `codex-${a.lane_id}`;
    expect(
      SessionView.parse((await ensure(a.lane_id, { provider: 'codex', codex_session_id: codex })).body)
        .codex_session_id,
    ).toBe(codex);
    const taken = await ensure(b.lane_id, { provider: 'codex', codex_session_id: codex });
    expect(taken.status).toBe(409);
    expect(CommandRejected.parse(taken.body).error).toMatchObject({
      code: 'NOT_ALLOWED',
      reason: 'CODEX_SESSION_IN_USE',
    });
    expect(
      LaneView.parse((await api(cp, 'GET', `/v1/workspaces/ws1/lanes/${b.lane_id}`)).body).active_session_id,
    ).toBeNull();
  });

  it('after a session terminates, ensure starts a new one that continues the same codex session', async () => {
    const lane = await newLane();
    const s1 = SessionView.parse((await ensure(lane.lane_id)).body);
    const nc = cp.ctx.store.nc;
    expect(
      await sendCommand(
        nc,
        'session',
        'terminate',
        { entityId: s1.session_id, data: { reason: 'agent finished' } },
        { credential: cp.token },
      ),
    ).toMatchObject({ ok: true, state: 'terminated' });
    let s2 = s1;
    for (let i = 0; i < 100 && s2.session_id === s1.session_id; i++) {
      s2 = SessionView.parse((await ensure(lane.lane_id)).body);
      if (s2.session_id === s1.session_id) await new Promise((r) => setTimeout(r, 50));
    }
    expect(s2.session_id).not.toBe(s1.session_id);
    expect(s2.codex_session_id).toBe(s1.codex_session_id);
    expect(s2.status).toBe('attached');
  });

  it('session.ensure works over NATS too, with the session view in the reply', async () => {
    const lane = await newLane();
    const r = await sendCommand(
      cp.ctx.store.nc,
      'session',
      'ensure',
      {
        data: { laneId: lane.lane_id, provider: 'codex' },
      },
      { credential: cp.token },
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(SessionView.parse(r.result)).toMatchObject({ lane_id: lane.lane_id, status: 'attached' });
    expect(
      await sendCommand(
        cp.ctx.store.nc,
        'session',
        'ensure',
        { data: { laneId: 'nope', provider: 'codex' } },
        { credential: cp.token },
      ),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

describe('sessions after a crash half way through ensure', () => {
  it('a codex claim left without a bound session is released by the next ensure', async () => {
    const lane = await newLane();
    const codex = `codex-stale-${lane.lane_id}`;
    // What an ensure that died after claiming and before binding leaves behind (claim is internal: only
    // ensure's own step writes it, so the test writes it through the host as that step would).
    expect(
      await cp.server.host.execute(
        cmd('codexSession', 'claim', codex, { laneId: lane.lane_id, sessionId: 'never-bound' }),
      ),
    ).toMatchObject({ ok: true });
    const s = SessionView.parse((await ensure(lane.lane_id, { provider: 'codex', codex_session_id: codex })).body);
    expect(s).toMatchObject({ codex_session_id: codex, status: 'attached' });
    expect((await cp.server.host.state('codexSession', codex))?.context).toMatchObject({
      sessionId: s.session_id,
      laneId: lane.lane_id,
    });
  });

  it('a session left attaching is attached by the next ensure', async () => {
    const lane = await newLane();
    const s = SessionView.parse((await ensure(lane.lane_id)).body);
    // What an ensure that died between re-attaching a detached session and its attached step leaves behind.
    await cp.server.host.execute(cmd('session', 'detach', s.session_id));
    expect(
      await cp.server.host.execute(cmd('session', 'attach', s.session_id, { transport: 'native_openai' })),
    ).toMatchObject({ state: 'attaching' });
    expect(SessionView.parse((await ensure(lane.lane_id)).body)).toMatchObject({
      session_id: s.session_id,
      status: 'attached',
    });
  });
});
