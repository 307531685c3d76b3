import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { CREDENTIAL_HEADER, handoffSubjects, subjects, type EventEnvelope, type HandoffOffer } from '@tether/contracts';
import { headers } from '@nats-io/nats-core';
import { NatsServer, gitRepo } from '@tether/tests';
import { startTether, type BenchTether } from './tether-server.ts';
import { log, percentile } from './timing.ts';

// A handoff with no approval, request → completed: a person hands a terminal to an agent over HTTP; the
// agent, subscribed to its offer subject, accepts over NATS as soon as it is offered; the clock stops
// when the handoff.completed event is in the stream (seen on its subject). The context capture (git,
// /proc, the scrollback) and every hop between workers are inside the figure.

export interface HandoffResults {
  handoffP50Ms: number;
  handoffP95Ms: number;
  handoffRuns: number;
}

export const HANDOFF_GOAL_MS = 200;
const AGENT = { kind: 'ai', id: 'bench-agent' } as const;

export async function measureHandoff(natsUrl: string, runs = 40): Promise<HandoffResults> {
  const policy = join(mkdtempSync(join(tmpdir(), 'tether-bench-handoff-policy-')), 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({ rules: [{ id: 'bench-handoffs', effect: 'allow', actions: ['handoff'], to: ['ai:*'] }] }),
  );
  const tether = await startTether(
    natsUrl,
    { TETHER_WORKSPACES: `bench=${await gitRepo()}`, TETHER_SHARE_POLICY: policy },
    'tether-bench-handoff-',
  );
  const nc = await connect({ servers: natsUrl, name: 'bench-handoff-agent' });
  try {
    const terminal = await startTerminal(tether);
    // Completions as they are appended (the stream's subjects are plain NATS subjects too), and who waits for one.
    const completed = new Set<string>();
    const waiting = new Map<string, () => void>();
    nc.subscribe(subjects.entityEvents('handoff'), {
      callback: (_e, m) => {
        const ev = m.json<EventEnvelope>();
        if (ev.type !== 'handoff.completed') return;
        completed.add(ev.entityId);
        waiting.get(ev.entityId)?.();
      },
    });
    // The agent: accepts every offer the moment it arrives, with its own credential.
    const asAgent = headers();
    asAgent.set(CREDENTIAL_HEADER, await tether.token(`${AGENT.kind}:${AGENT.id}`));
    nc.subscribe(handoffSubjects.offered(AGENT), {
      callback: (_e, m) => {
        const offer = m.json<HandoffOffer>();
        void nc
          .request(offer.accept.nats, JSON.stringify({ entityId: offer.handoff.handoff_id, data: {} }), {
            timeout: 10_000,
            headers: asAgent,
          })
          .catch((err) => log(`handoff: accept of ${offer.handoff.handoff_id} failed: ${String(err)}`));
      },
    });
    await nc.flush();
    const completion = (id: string) =>
      new Promise<void>((resolve, reject) => {
        if (completed.has(id)) return resolve();
        const timer = setTimeout(async () => {
          const now = await tether.call<{ status: string }>('GET', `/v1/handoffs/${id}`).catch(() => ({ status: '?' }));
          reject(new Error(`handoff ${id} did not complete within 10 s (it is ${now.status})`));
        }, 10_000);
        waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    const once = async () => {
      const t0 = performance.now();
      const h = await tether.call<{ handoff_id: string }>(
        'POST',
        '/v1/handoffs',
        { terminal_id: terminal, to: `${AGENT.kind}:${AGENT.id}` },
        'human:bench',
      );
      await completion(h.handoff_id);
      const ms = performance.now() - t0;
      waiting.delete(h.handoff_id);
      return ms;
    };
    for (let i = 0; i < 3; i++) await once(); // warm-up
    log(`handoff: ${runs} handoffs, request → completed, no approval`);
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) ms.push(await once());
    return { handoffP50Ms: percentile(ms, 50), handoffP95Ms: percentile(ms, 95), handoffRuns: runs };
  } finally {
    await nc.close();
    await tether.stop();
  }
}

async function startTerminal(tether: BenchTether): Promise<string> {
  const lane = await tether.call<{ lane_id: string }>('POST', '/v1/workspaces/bench/lanes', {
    project_context_id: 'bench',
    display_name: 'handoff',
  });
  const session = await tether.call<{ session_id: string }>(
    'POST',
    `/v1/workspaces/bench/lanes/${lane.lane_id}/sessions`,
    { provider: 'codex' },
  );
  const t = await tether.call<{ terminal_id: string; state: string }>(
    'POST',
    `/v1/workspaces/bench/lanes/${lane.lane_id}/terminals`,
    { session_id: session.session_id, title: 'handoff' },
  );
  if (t.state !== 'active') throw new Error(`terminal ${t.terminal_id} is ${t.state}`);
  return t.terminal_id;
}

/** The handoff lines of the bench table. */
export function handoffLines(r: Record<string, unknown>): string[] {
  if (typeof r.handoffP95Ms !== 'number') return [];
  const h = r as unknown as HandoffResults;
  return [
    '',
    'handoff:',
    `  request → completed, no approval (${h.handoffRuns} handoffs): p50 ${h.handoffP50Ms.toFixed(1)} ms, p95 ${h.handoffP95Ms.toFixed(1)} ms (goal < ${HANDOFF_GOAL_MS} ms, ${h.handoffP95Ms < HANDOFF_GOAL_MS ? 'met' : 'NOT MET'})`,
  ];
}

/**
 * `npm run bench:handoff`: this section alone, with its own nats-server; prints its figures and puts
 * them in bench/results.json beside the others (the full `npm run bench` measures them too).
 */
export async function benchHandoffAlone(): Promise<void> {
  const nats = await NatsServer.start();
  try {
    const r = await measureHandoff(nats.url);
    const file = fileURLToPath(new URL('../results.json', import.meta.url));
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const round = (v: number) => Math.round(v * 1000) / 1000;
    writeFileSync(
      file,
      `${JSON.stringify({ ...results, handoffP50Ms: round(r.handoffP50Ms), handoffP95Ms: round(r.handoffP95Ms), handoffRuns: r.handoffRuns }, null, 2)}\n`,
    );
    process.stdout.write(`${handoffLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await nats.dispose();
  }
}
