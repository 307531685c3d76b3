import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { STREAM_EVENTS } from '@tether/contracts';
import { JetStreamEventStore, sendCommand, type EventStore } from '@tether/runtime';
import { NatsCluster, TetherProcess, eventually, gitRepo, laneStates, uid, useNats } from '../harness/index.ts';

/**
 * A careful client over every surface: lane creates with command ids, a crash (tether, nats-server, or
 * a cluster's stream leader) halfway, a resend of every id afterwards and again past the stream's
 * duplicate window. Every resend must be answered with the original result: N lanes, none twice.
 */

const WINDOW_MS = 1_500; // TETHER_DUPLICATE_WINDOW_MS, shortened so "past the window" fits in a test
const PER_SURFACE = 6;

interface Answer {
  ok: boolean;
  code?: string;
  reason?: string;
  entityId?: string;
  seq?: number;
  streamSeq?: number;
  duplicate?: boolean;
}

type Surface = (base: string, nc: NatsConnection | undefined, id: string, name: string) => Promise<Answer>;

const laneData = (name: string) => ({ workspaceId: 'ws1', projectContextId: 'resend', displayName: name });

/** The owner's token of the tether started last (credentials live in the stream: any host honours it). */
let token = '';

async function http(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const b = (await res.json()) as Record<string, unknown> & { error?: { code: string; reason?: string } };
    if (b.error) return { ok: false, code: b.error.code, reason: b.error.reason };
    // The lanes route answers with the lane itself: its id is the result to compare.
    return b.lane_id ? { ok: true, entityId: String(b.lane_id) } : { ok: true, ...(b as Omit<Answer, 'ok'>) };
  } catch (err) {
    return { ok: false, code: 'UNAVAILABLE', reason: String(err) }; // tether is down: retry
  }
}

const surfaces: Record<string, Surface> = {
  'POST /v1/commands (Idempotency-Key)': (base, _, id, name) =>
    http(`${base}/v1/commands/lane/create`, { data: laneData(name) }, { 'idempotency-key': id }),
  'POST /v1/commands (body id)': (base, _, id, name) =>
    http(`${base}/v1/commands/lane/create`, { id, data: laneData(name) }),
  'POST /v1/workspaces/ws1/lanes': (base, _, id, name) =>
    http(
      `${base}/v1/workspaces/ws1/lanes`,
      { project_context_id: 'resend', display_name: name },
      { 'idempotency-key': id },
    ),
  'NATS tether.cmd.lane.create': async (_, nc, id, name) => {
    if (!nc) return { ok: false, code: 'UNAVAILABLE' };
    const r = await sendCommand(
      nc,
      'lane',
      'create',
      { id, data: laneData(name) },
      { credential: token, timeoutMs: 5_000 },
    );
    return r.ok ? { ...r } : { ok: false, code: r.error.code, reason: r.error.reason };
  },
};

/** Resends one id until tether answers something other than "unavailable". */
async function untilAnswered(send: () => Promise<Answer>, deadlineMs = 45_000): Promise<Answer> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const a = await send();
    if (a.ok || a.code !== 'UNAVAILABLE' || Date.now() > end) return a;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Run {
  base: () => string;
  nc: () => NatsConnection | undefined;
  /** The crash, called once when half the creates are acknowledged; resolves when tether can be used again. */
  crash: () => Promise<void>;
  surfaces: string[];
  /** Creates per surface (default PER_SURFACE). */
  perSurface?: number;
}

/** Sends every create (4 at a time), crashing halfway; returns the first answer per command id. */
async function createWithCrash(run: Run) {
  const plan = run.surfaces.flatMap((s) =>
    Array.from({ length: run.perSurface ?? PER_SURFACE }, (_, i) => ({
      surface: s,
      id: uid('rs'),
      name: `${s.slice(0, 4)}-${i}`,
    })),
  );
  const first = new Map<string, Answer>();
  let next = 0;
  let crashed: Promise<void> | undefined;
  const worker = async () => {
    while (next < plan.length) {
      const p = plan[next++]!;
      first.set(p.id, await untilAnswered(() => surfaces[p.surface]!(run.base(), run.nc(), p.id, p.name)));
      if (process.env.DEBUG_RESEND) console.log(Date.now(), p.surface, p.id, JSON.stringify(first.get(p.id)));
      if (!crashed && first.size >= plan.length / 2) crashed = run.crash();
      await crashed?.catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await crashed;
  return { plan, first };
}

/** Resends every id and checks each answer is the original one, marked duplicate. */
async function resendAll(run: Run, plan: { surface: string; id: string; name: string }[], first: Map<string, Answer>) {
  const wrong: unknown[] = [];
  for (const p of plan) {
    const again = await untilAnswered(() => surfaces[p.surface]!(run.base(), run.nc(), p.id, p.name));
    const was = first.get(p.id)!;
    const same =
      again.ok &&
      again.duplicate !== false &&
      again.entityId === was.entityId &&
      (was.seq === undefined || (again.seq === was.seq && again.streamSeq === was.streamSeq));
    if (!same) wrong.push({ surface: p.surface, id: p.id, was, again });
  }
  return wrong;
}

/** Every lane these command ids created (its first event), with how many each id caused. */
async function created(store: EventStore, ids: Set<string>) {
  const lanes = new Map<string, number>();
  const byCommand = new Map<string, number>();
  for await (const e of store.readAll({ filter: 'tether.evt.lane.*' })) {
    const cause = e.event.causationId;
    if (e.event.seq !== 1 || !ids.has(cause)) continue;
    lanes.set(e.event.entityId, (lanes.get(e.event.entityId) ?? 0) + 1);
    byCommand.set(cause, (byCommand.get(cause) ?? 0) + 1);
  }
  return { lanes, byCommand };
}

/** Why each of these lanes is in error, as its context says. */
async function errorsOf(base: string, ids: string[]) {
  return Promise.all(
    ids.map(async (id) => {
      const lane = (await (
        await fetch(`${base}/v1/entities/lane/${id}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as {
        context: { error?: unknown };
      };
      return `${id}: ${JSON.stringify(lane.context.error)}`;
    }),
  );
}

/** The whole check: creates with a crash, resends, resends past the window, N lanes, all ready, none in error. */
async function exactlyOnce(run: Run, store: () => EventStore) {
  const { plan, first } = await createWithCrash(run);
  expect([...first.values()].filter((a) => !a.ok)).toEqual([]);
  expect(await resendAll(run, plan, first)).toEqual([]);
  await new Promise((r) => setTimeout(r, WINDOW_MS + 500)); // past the stream's duplicate window
  expect(await resendAll(run, plan, first)).toEqual([]);

  const { lanes, byCommand } = await created(store(), new Set(plan.map((p) => p.id)));
  expect(lanes.size).toBe(plan.length);
  expect([...byCommand.values()].every((n) => n === 1)).toBe(true);
  expect(new Set([...first.values()].map((a) => a.entityId)).size).toBe(plan.length);
  const ids = [...lanes.keys()];
  const states = await eventually(
    () => laneStates({ url: run.base(), token }, ids),
    (s) => s.every((v) => v === 'ready' || v === 'error'),
    30_000,
  );
  expect(
    await errorsOf(
      run.base(),
      ids.filter((_, i) => states[i] === 'error'),
    ),
  ).toEqual([]);
  expect(states.every((v) => v === 'ready')).toBe(true);
}

describe('resent commands after a crash: the original answer, never a second entity', () => {
  describe('kill -9 of tether (NATS)', () => {
    const ctx = useNats();
    let tether: TetherProcess;
    let nc: NatsConnection;
    let env: Record<string, string>;
    beforeAll(async () => {
      env = {
        NATS_URL: ctx.nats.url,
        TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-resend-')), // a restart keeps its data folder, as in life
        TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
        TETHER_DUPLICATE_WINDOW_MS: String(WINDOW_MS),
      };
      tether = await TetherProcess.start(env);
      token = tether.token;
      nc = await connect({ servers: ctx.nats.url });
    });
    afterAll(async () => {
      await nc?.close();
      await tether?.kill();
    });

    it('answers every resend over every surface with the original result, 0 duplicates, 0 lost', async () => {
      await exactlyOnce(
        {
          base: () => tether.url,
          nc: () => nc,
          surfaces: Object.keys(surfaces),
          crash: async () => {
            await tether.kill('SIGKILL');
            tether = await TetherProcess.start(env);
            token = tether.token;
          },
        },
        () => ctx.store,
      );
    });

    it('refuses an id reused for another request, and changes nothing', async () => {
      const id = uid('reuse');
      const a = await surfaces['POST /v1/commands (body id)']!(tether.url, nc, id, 'one');
      expect(a).toMatchObject({ ok: true, duplicate: false });
      const b = await surfaces['POST /v1/commands (body id)']!(tether.url, nc, id, 'two');
      expect(b).toMatchObject({ ok: false, code: 'CONFLICT', reason: 'COMMAND_ID_REUSED' });
      const { lanes } = await created(ctx.store, new Set([id]));
      expect(lanes.size).toBe(1);
    });
  });

  describe('nats-server restarted', () => {
    const ctx = useNats();
    let tether: TetherProcess;
    let nc: NatsConnection;
    beforeAll(async () => {
      tether = await TetherProcess.start({
        NATS_URL: ctx.nats.url,
        TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
        TETHER_DUPLICATE_WINDOW_MS: String(WINDOW_MS),
      });
      token = tether.token;
      nc = await connect({ servers: ctx.nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    });
    afterAll(async () => {
      await nc?.close();
      await tether?.kill();
    });

    it('answers every resend with the original result, 0 duplicates, 0 lost', async () => {
      await exactlyOnce(
        {
          base: () => tether.url,
          nc: () => nc,
          surfaces: Object.keys(surfaces),
          crash: async () => {
            await ctx.nats.stop();
            await new Promise((r) => setTimeout(r, 2_000));
            await ctx.nats.restart();
          },
        },
        () => ctx.store,
      );
    });
  });

  describe('stream leader of a three-node cluster killed', () => {
    let cluster: NatsCluster;
    let store: JetStreamEventStore;
    let tether: TetherProcess;
    let nc: NatsConnection;
    beforeAll(async () => {
      cluster = await NatsCluster.start(3);
      tether = await TetherProcess.start({
        NATS_URL: cluster.url,
        TETHER_REPLICAS: '3',
        TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
        TETHER_DUPLICATE_WINDOW_MS: String(WINDOW_MS),
      });
      token = tether.token;
      store = await JetStreamEventStore.open(cluster.url, { replicas: 3 });
      nc = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    }, 60_000);
    afterAll(async () => {
      await nc?.close();
      await tether?.kill();
      await store?.close();
      await cluster?.dispose();
    });

    // A leader election and the failover of commands (5-10 s) come on top of the work: a longer budget.
    it('keeps answering and effects keep running: 0 lost, 0 duplicates, no lane in error', {
      timeout: 120_000,
    }, async () => {
      await exactlyOnce(
        {
          base: () => tether.url,
          nc: () => nc,
          surfaces: Object.keys(surfaces),
          perSurface: 3,
          crash: async () => {
            const leader = (await (await jetstreamManager(store.nc)).streams.info(STREAM_EVENTS)).cluster?.leader;
            const node = cluster.nodes.find((n) => n.name === leader);
            expect(node, `stream leader ${leader}`).toBeDefined();
            await node!.stop(true);
          },
        },
        () => store,
      );
    });
  });
});
