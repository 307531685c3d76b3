import { createServer, type Server } from 'node:http';
import { freePort } from '@tether/runtime';
import { gitRepo } from '@tether/tests';
import { startTether, timed } from './tether-server.ts';
import { percentile, log } from './timing.ts';

export interface ControlPlaneResults {
  laneCreateP50Ms: number;
  laneCreateP95Ms: number;
  terminalSpawnP50Ms: number;
  terminalSpawnP95Ms: number;
  harnessFailoverMs: number;
  harnessFailoverRuns: number[];
  harnessCheckEveryMs: number;
  lanesCreated: number;
  terminalsSpawned: number;
}

const CHECK_EVERY_MS = 250;

/** Lane creation (through to the real git worktree), terminal spawn (through to a running shell in tmux), harness failover. */
export async function measureControlPlane(
  natsUrl: string,
  counts = { lanes: 30, terminals: 20, failovers: 5 },
): Promise<ControlPlaneResults> {
  const harnessPort = await freePort();
  let harness: Server | undefined;
  const startHarness = async () => {
    harness = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => harness!.listen(harnessPort, '127.0.0.1', r));
  };
  const stopHarness = () =>
    new Promise<void>((r) => {
      if (!harness) return r();
      harness.close(() => r());
      harness.closeAllConnections();
    });
  await startHarness();
  const tether = await startTether(
    natsUrl,
    {
      TETHER_WORKSPACES: `bench=${await gitRepo()}`,
      TETHER_HARNESS_URL: `http://127.0.0.1:${harnessPort}`,
      TETHER_HARNESS_CHECK_MS: String(CHECK_EVERY_MS),
      TETHER_HARNESS_COOLDOWN_MS: '100',
    },
    'tether-bench-cp-',
  ).catch(async (err) => {
    await stopHarness();
    throw err;
  });
  const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
    tether.call<T>(method, path, body);
  try {
    log(`control plane: ${counts.lanes} lanes (git worktree each)`);
    const laneMs: number[] = [];
    let laneId = '';
    for (let i = 0; i < counts.lanes; i++) {
      laneMs.push(
        await timed(async () => {
          const lane = await call<{ lane_id: string; status: string; error?: unknown }>(
            'POST',
            '/v1/workspaces/bench/lanes',
            {
              project_context_id: 'bench',
              display_name: `lane ${i}`,
            },
          );
          if (lane.status !== 'ready')
            throw new Error(`lane ${lane.lane_id} is ${lane.status}: ${JSON.stringify(lane.error)}`);
          laneId = lane.lane_id;
        }),
      );
    }
    const session = await call('POST', `/v1/workspaces/bench/lanes/${laneId}/sessions`, { provider: 'codex' });

    log(`control plane: ${counts.terminals} terminals (shell in tmux)`);
    const termMs: number[] = [];
    for (let i = 0; i < counts.terminals; i++) {
      termMs.push(
        await timed(async () => {
          const t = await call('POST', `/v1/workspaces/bench/lanes/${laneId}/terminals`, {
            session_id: session.session_id,
            title: `t${i}`,
          });
          if (t.state !== 'active') throw new Error(`terminal ${t.terminal_id} is ${t.state}: ${t.close_reason}`);
        }),
      );
    }

    log(`control plane: ${counts.failovers} harness failovers (checks every ${CHECK_EVERY_MS} ms)`);
    const status = () => call('GET', '/v1/harness/cliproxy/status');
    const until = async (pred: (s: Record<string, unknown>) => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!pred(await status())) {
        if (Date.now() > end) throw new Error('harness status did not change in time');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const failovers: number[] = [];
    for (let i = 0; i < counts.failovers; i++) {
      await until((s) => s.transport === 'cliproxy_harness', 10_000);
      const t0 = performance.now();
      await stopHarness();
      await until((s) => s.transport === 'native_openai', 10_000);
      failovers.push(performance.now() - t0);
      await startHarness();
    }
    const median = [...failovers].sort((a, b) => a - b)[Math.floor(failovers.length / 2)]!;
    return {
      laneCreateP50Ms: percentile(laneMs, 50),
      laneCreateP95Ms: percentile(laneMs, 95),
      terminalSpawnP50Ms: percentile(termMs, 50),
      terminalSpawnP95Ms: percentile(termMs, 95),
      harnessFailoverMs: median,
      harnessFailoverRuns: failovers.map(Math.round),
      harnessCheckEveryMs: CHECK_EVERY_MS,
      lanesCreated: counts.lanes,
      terminalsSpawned: counts.terminals,
    };
  } finally {
    await stopHarness();
    await tether.stop();
  }
}
