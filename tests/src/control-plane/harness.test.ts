import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessStatusView, LaneView, SessionView } from '@tether/contracts';
import { freePort } from '@tether/runtime';
import { api, eventually, useControlPlane } from '../harness/index.ts';

/** A real local HTTP server standing in for the cliproxy harness: the test starts, stops and slows it. */
class HarnessServer {
  delayMs = 0;
  private server?: Server;
  constructor(readonly port: number) {}
  async start() {
    this.server = createServer((req, res) =>
      setTimeout(() => res.writeHead(req.url === '/health' ? 200 : 404).end('ok'), this.delayMs),
    );
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }
  async stop() {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    this.server = undefined;
  }
}

const port = await freePort();
const harness = new HarnessServer(port);
beforeAll(() => harness.start());
afterAll(() => harness.stop());
const cp = useControlPlane({
  TETHER_HARNESS_URL: `http://127.0.0.1:${port}`,
  TETHER_HARNESS_CHECK_MS: '60000',
  TETHER_HARNESS_SLOW_MS: '300',
  TETHER_HARNESS_COOLDOWN_MS: '1500',
});

const status = async () => HarnessStatusView.parse((await api(cp, 'GET', '/v1/harness/cliproxy/status')).body);
const check = async () => HarnessStatusView.parse((await api(cp, 'POST', '/v1/harness/cliproxy/check')).body);
async function sessionOnNewLane() {
  const lane = LaneView.parse(
    (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'h' })).body,
  );
  return SessionView.parse(
    (await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`, { provider: 'codex' })).body,
  );
}

describe('harness routing', () => {
  it('routes through a healthy harness, degrades with the reason when it dies, and recovers only after the cooldown', async () => {
    // Checked on demand: the check at start may have been slow on a busy machine (over 300 ms), and the next
    // periodic one is a minute away.
    expect(await eventually(check, (s) => s.status === 'healthy')).toMatchObject({
      transport: 'cliproxy_harness',
      fallback_transport: 'native_openai',
    });
    expect((await status()).status).toBe('healthy'); // recorded, not only probed
    const viaHarness = await sessionOnNewLane();
    expect(viaHarness).toMatchObject({ transport: 'cliproxy_harness', diagnostics: { degrade_reason: null } });

    await harness.stop();
    const down = await check();
    expect(down).toMatchObject({ status: 'degraded', transport: 'native_openai' });
    expect(down.degrade_reason).toMatch(/harness unreachable at http:\/\/127\.0\.0\.1:\d+\/health: ECONNREFUSED/);
    const fallback = await sessionOnNewLane();
    expect(fallback.transport).toBe('native_openai');
    expect(fallback.diagnostics.degrade_reason).toMatch(/^harness_degraded: harness unreachable .*ECONNREFUSED/);
    // tether keeps working: the earlier session is still there and unchanged.
    expect((await cp.server.host.state('session', viaHarness.session_id))?.context).toMatchObject({
      transport: 'cliproxy_harness',
    });

    await harness.start();
    expect((await check()).status).toBe('degraded'); // back, but inside the cooldown: no flap
    const recovered = await eventually(check, (s) => s.status === 'healthy', 10_000);
    expect(recovered.transport).toBe('cliproxy_harness');
    const events: string[] = [];
    for await (const e of cp.ctx.store.readAll({ filter: 'tether.evt.harness.*' }))
      events.push(`${e.event.type}:${JSON.stringify(e.event.state)}`);
    expect(events).toEqual([
      'harness.configure:"degraded"',
      'harness.status.changed:"healthy"',
      'harness.status.changed:"degraded"',
      'harness.status.changed:"healthy"',
    ]);
  });

  it('a slow harness degrades the route with the measured latency', async () => {
    await eventually(check, (s) => s.status === 'healthy', 10_000);
    harness.delayMs = 600;
    try {
      const slow = await eventually(check, (s) => s.status === 'degraded', 10_000);
      expect(slow.degrade_reason).toMatch(/harness slow: \d+ ms > 300 ms/);
    } finally {
      harness.delayMs = 0;
    }
  });
});
