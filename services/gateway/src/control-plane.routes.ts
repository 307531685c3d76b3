import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  CommandRequest,
  invalid,
  LaneCleanupBody,
  LaneCreateBody,
  SessionEnsureBody,
  TerminalSpawnBody,
  TetherError,
  type Command,
} from '@tether/contracts';
import { listActors, uuid, type ActorHost, type Dispatcher, type EventStore, type SavedActor } from '@tether/runtime';
import { HARNESS_ID, harnessView, laneView, sessionView, terminalView, type HarnessCheck, type Workspaces } from '@tether/workers';

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

  const command = (req: FastifyRequest, entity: string, verb: string, entityId: string | undefined, data: Record<string, unknown>): Command => {
    // Headers become the command id, correlation id and actor: they obey the same contract as a command body.
    const header = (name: string) => {
      const v = req.headers[name];
      return (Array.isArray(v) ? v[0] : v) || undefined;
    };
    const [key, corr, who] = [header('idempotency-key'), header('x-correlation-id'), header('x-tether-actor')];
    const h = CommandRequest.safeParse({ ...(key ? { id: key } : {}), ...(corr ? { correlationId: corr } : {}), actor: { kind: 'human', id: who ?? 'http' } });
    if (!h.success) {
      const names: Record<string, string> = { id: 'Idempotency-Key', correlationId: 'X-Correlation-Id', actor: 'X-Tether-Actor' };
      const issues = h.error.issues.map((i) => ({ path: [names[String(i.path[0])] ?? String(i.path[0])], message: i.message }));
      throw new TetherError('INVALID_COMMAND', `invalid request headers: ${issues.map((i) => `${i.path[0]}: ${i.message}`).join('; ')}`, { issues });
    }
    const id = h.data.id ?? uuid();
    return { id, entity, verb, entityId, data, actor: h.data.actor!, correlationId: h.data.correlationId ?? id, causationId: id };
  };

  /** Waits until the actor leaves the given states (workers report back asynchronously). */
  const until = async (entity: string, id: string, pending: string[]): Promise<SavedActor> => {
    const end = Date.now() + settle;
    for (;;) {
      const a = await host.state(entity, id);
      if (a && (!pending.includes(String(a.value)) || Date.now() > end)) return a;
      await new Promise((r) => setTimeout(r, 15));
    }
  };

  const lane = async (p: Params) => {
    workspaces.get(p.ws);
    const a = await host.state('lane', p.lane);
    if (!a || (a.context as { workspaceId: string }).workspaceId !== p.ws) throw new TetherError('NOT_FOUND', `lane ${p.lane} does not exist in workspace ${p.ws}`);
    return a;
  };

  app.post<{ Params: { ws: string } }>('/v1/workspaces/:ws/lanes', async (req, reply) => {
    workspaces.get(req.params.ws);
    const body = parse(LaneCreateBody, req.body);
    const r = await dispatcher.dispatch(command(req, 'lane', 'create', body.lane_id, { workspaceId: req.params.ws, projectContextId: body.project_context_id, displayName: body.display_name }));
    return reply.status(r.duplicate ? 200 : 201).send(laneView(await until('lane', r.entityId, ['provisioning'])));
  });

  app.get<{ Params: { ws: string } }>('/v1/workspaces/:ws/lanes', async (req) => {
    workspaces.get(req.params.ws);
    const lanes = await listActors(store, 'lane', (a) => (a.context as { workspaceId: string }).workspaceId === req.params.ws);
    return { items: lanes.map(laneView) };
  });

  app.get<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane', async (req) => laneView(await lane(req.params)));

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/attach', async (req) => {
    await lane(req.params);
    await dispatcher.dispatch(command(req, 'lane', 'attach', req.params.lane, {}));
    return laneView(await lane(req.params));
  });

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/cleanup', async (req) => {
    await lane(req.params);
    const body = parse(LaneCleanupBody, req.body ?? {});
    await dispatcher.dispatch(command(req, 'lane', 'cleanup', req.params.lane, body));
    return laneView(await until('lane', req.params.lane, ['cleaning']));
  });

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/sessions', async (req) => {
    await lane(req.params);
    const body = parse(SessionEnsureBody, req.body);
    const r = await dispatcher.dispatch(
      command(req, 'session', 'ensure', undefined, { laneId: req.params.lane, provider: body.provider, ...(body.preferred_transport ? { preferredTransport: body.preferred_transport } : {}), ...(body.codex_session_id ? { codexSessionId: body.codex_session_id } : {}) }),
    );
    return sessionView((await host.state('session', r.entityId))!);
  });

  app.get<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/sessions', async (req) => {
    await lane(req.params);
    return { items: (await listActors(store, 'session', (a) => (a.context as { laneId: string }).laneId === req.params.lane)).map(sessionView) };
  });

  app.post<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/terminals', async (req, reply) => {
    await lane(req.params);
    const body = parse(TerminalSpawnBody, req.body);
    const r = await dispatcher.dispatch(command(req, 'terminal', 'spawn', undefined, { laneId: req.params.lane, sessionId: body.session_id, ...(body.title ? { title: body.title } : {}) }));
    return reply.status(r.duplicate ? 200 : 201).send(terminalView(await until('terminal', r.entityId, ['spawning'])));
  });

  app.get<{ Params: Params }>('/v1/workspaces/:ws/lanes/:lane/terminals', async (req) => {
    await lane(req.params);
    return { items: (await listActors(store, 'terminal', (a) => (a.context as { laneId: string }).laneId === req.params.lane)).map(terminalView) };
  });

  app.get('/v1/harness/cliproxy/status', async () => harnessView(await host.state('harness', HARNESS_ID)));

  app.post('/v1/harness/cliproxy/check', async () => {
    if (!deps.checkHarness) throw new TetherError('NOT_ALLOWED', 'no harness url is configured (set TETHER_HARNESS_URL)', { reason: 'HARNESS_NOT_CONFIGURED' });
    await deps.checkHarness();
    return harnessView(await host.state('harness', HARNESS_ID));
  });
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    throw invalid(`invalid request body`, r.error);
  }
  return r.data;
}
