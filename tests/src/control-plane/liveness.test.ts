import { describe, expect, it } from 'vitest';
import { LaneView, SessionView, TerminalView } from '@tether/contracts';
import { sendCommand } from '@tether/runtime';
import { termSubjects } from '@tether/workers';
import { api, eventually, useControlPlane } from '../harness/index.ts';

const cp = useControlPlane({ TETHER_SESSION_HEARTBEAT_MS: '1500', TETHER_TERMINAL_MAX_BPS: '50000' });

async function laneWithSession() {
  const lane = LaneView.parse(
    (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'live' })).body,
  );
  const session = SessionView.parse(
    (await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`, { provider: 'codex' })).body,
  );
  return { lane, session };
}

describe('liveness', () => {
  it('heartbeats keep a session attached; without them the durable deadline detaches it; ensure re-attaches', async () => {
    const { lane, session } = await laneWithSession();
    const nc = cp.ctx.store.nc;
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect(
        await sendCommand(nc, 'session', 'heartbeat', { entityId: session.session_id }, { credential: cp.token }),
      ).toMatchObject({
        ok: true,
        state: 'attached',
      });
    }
    const detached = await eventually(
      async () => (await cp.server.host.state('session', session.session_id))!,
      (s) => s.value === 'detached',
      10_000,
    );
    const missed = (await cp.ctx.store.readEntity('session', session.session_id)).find(
      (e) => e.event.type === 'session.heartbeatMissed',
    );
    expect(missed?.event.actor).toEqual({ kind: 'system', id: 'timer' });
    expect(detached.version).toBeGreaterThan(6);
    const again = SessionView.parse(
      (await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`, { provider: 'codex' })).body,
    );
    expect(again).toMatchObject({
      session_id: session.session_id,
      status: 'attached',
      codex_session_id: session.codex_session_id,
    });
  });

  it('a terminal flooding output is throttled, then unthrottled when it calms down', async () => {
    const { lane, session } = await laneWithSession();
    const term = TerminalView.parse(
      (
        await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
          session_id: session.session_id,
        })
      ).body,
    );
    cp.ctx.store.nc.publish(
      termSubjects.in(term.terminal_id),
      JSON.stringify({ data: 'yes tether-flood | head -c 400000\r', from: session.session_id }),
    );
    await eventually(
      async () => (await cp.server.host.state('terminal', term.terminal_id))!.value,
      (v) => v === 'throttled',
      10_000,
    );
    await eventually(
      async () => (await cp.server.host.state('terminal', term.terminal_id))!.value,
      (v) => v === 'active',
      15_000,
    );
    // Its lifecycle, without the checkpoints taken meanwhile (recovery's, every few seconds while it prints).
    const types = (await cp.ctx.store.readEntity('terminal', term.terminal_id))
      .map((e) => e.event.type)
      .filter((t) => t !== 'terminal.checkpointed' && t !== 'terminal.cwdChanged');
    expect(types).toEqual(['terminal.spawn', 'terminal.started', 'terminal.throttle', 'terminal.unthrottle']);
  });
});
