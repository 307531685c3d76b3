import type { FastifyInstance } from 'fastify';
import { LaneCleanupBody, LaneCreateBody, SessionEnsureBody, TerminalSpawnBody, TetherError } from '@tether/contracts';
import { listActors, type ActorHost, type Dispatcher, type EventStore } from '@tether/runtime';
import { commandFrom, parseBody, settled } from './http-commands.ts';
import {
  HARNESS_ID,
  harnessView,
  laneView,
  sessionView,
  terminalView,
  type HarnessCheck,
  type Workspaces,
} from '@tether/workers';

export interface ControlPlaneDeps {
  dispatcher: Dispatcher;
  host: ActorHost;
  store: EventStore;
  workspaces: Workspaces;
  checkHarness?: () => Promise<HarnessCheck>;
  /** How long POSTs wait for workers to finish (worktree created, shell started). */
  settleMs?: number;
}

type Params = { ws: string; lane: string };

/** The control-plane API of seed 004: lanes, sessions, terminals, harness status. */
export function controlPlaneRoutes(app: FastifyInstance, deps: ControlPlaneDeps) {
  const { dispatcher, host, store, workspaces } = deps;
  const settle = deps.settleMs ?? 30_000;

  const command = commandFrom;
  const until = (entity: string, id: string, pending: string[]) => settled(host, entity, id, pending, settle);

  const lane = async (p: Params) => {
    workspaces.get(p.ws);
    const a = await host.state('lane', p.lane);
    if (!a || (a.context as { workspaceId: string }).workspaceId !== p.ws)
      throw new TetherError('NOT_FOUND', `lane ${p.lane} does not exist in workspace ${p.ws}`);
    return a;
  };

  app.post<{ Params: { ws: string } }>('/v1/workspaces/:ws/lanes', async (req, reply) => {
    workspaces.get(req.params.ws);
    const body = parseBody(LaneCreateBody, req.body);
    const r = await dispatcher.accept(
      command(req, 'lane', 'create', body.lane_id, {
        workspaceId: req.params.ws,
        projectContextId: body.project_context_id,
        displayName: body.display_name,
      }),
    );
    return reply.status(r.duplicate ? 200 : 201).send(laneView(await until('lane', r.entityId, ['provisioning'])));
  });

  app.get<{ Params: { ws: string } }>('/v1/workspaces/:ws/lanes', async (req) => {
    workspaces.get(req.params.ws);
    const lanes = await listActors(
      store,
      'lane',
      (a) => (a.context as { workspaceId: string }).workspaceId === req.params.ws,
    );
    return { items: lanes.map(laneView) };
  });

  app.get<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane', async (req) => laneView(await lane(req.params)));

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/attach', async (req) => {
    await lane(req.params);
    await dispatcher.accept(command(req, 'lane', 'attach', req.params.lane, {}));
    return laneView(await lane(req.params));
  });

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/cleanup', async (req) => {
    await lane(req.params);
    const body = parseBody(LaneCleanupBody, req.body ?? {});
    await dispatcher.accept(command(req, 'lane', 'cleanup', req.params.lane, body));
    return laneView(await until('lane', req.params.lane, ['cleaning']));
  });

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/sessions', async (req) => {
    await lane(req.params);
    const body = parseBody(SessionEnsureBody, req.body);
    const r = await dispatcher.accept(
      command(req, 'session', 'ensure', undefined, {
        laneId: req.params.lane,
        provider: body.provider,
        ...(body.preferred_transport ? { preferredTransport: body.preferred_transport } : {}),
        ...(body.codex_session_id ? { codexSessionId: body.codex_session_id } : {}),
      }),
    );
    return sessionView((await host.state('session', r.entityId))!);
  });

  app.get<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/sessions', async (req) => {
    await lane(req.params);
    return {
      items: (
        await listActors(store, 'session', (a) => (a.context as { laneId: string }).laneId === req.params.lane)
      ).map(sessionView),
    };
  });

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/terminals', async (req, reply) => {
    await lane(req.params);
    const body = parseBody(TerminalSpawnBody, req.body);
    const r = await dispatcher.accept(
      command(req, 'terminal', 'spawn', undefined, {
        laneId: req.params.lane,
        sessionId: body.session_id,
        ...(body.title ? { title: body.title } : {}),
      }),
    );
    return reply.status(r.duplicate ? 200 : 201).send(terminalView(await until('terminal', r.entityId, ['spawning'])));
  });

  app.get<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/terminals', async (req) => {
    await lane(req.params);
    return {
      items: (
        await listActors(store, 'terminal', (a) => (a.context as { laneId: string }).laneId === req.params.lane)
      ).map(terminalView),
    };
  });

  app.get('/v1/harness/cliproxy/status', async () => harnessView(await host.state('harness', HARNESS_ID)));

  app.post('/v1/harness/cliproxy/check', async () => {
    if (!deps.checkHarness)
      throw new TetherError('NOT_ALLOWED', 'no harness url is configured (set TETHER_HARNESS_URL)', {
        reason: 'HARNESS_NOT_CONFIGURED',
      });
    await deps.checkHarness();
    return harnessView(await host.state('harness', HARNESS_ID));
  });
}
