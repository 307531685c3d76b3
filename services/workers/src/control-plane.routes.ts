import {
  LaneCleanupBody,
  LaneCreateBody,
  SessionEnsureBody,
  TerminalSpawnBody,
  TetherError,
  assertAllowed,
} from '@tether/contracts';
import { actorOf, harnessView, laneView, listActorsOf, readActor, sessionView, terminalView } from '@tether/projector';
import {
  commandFrom,
  parseBody,
  principalOf,
  settled,
  type HttpRequest,
  type RouteDeps,
  type Routes,
} from '@tether/runtime';
import type { HarnessCheck } from './harness/harness-monitor.ts';
import type { Workspaces } from './lanes/workspaces.ts';
import { HARNESS_ID } from './sessions/ensure-session.ts';

export interface ControlPlaneDeps extends RouteDeps {
  workspaces: Workspaces;
  checkHarness?: () => Promise<HarnessCheck>;
}

/** The control-plane API of seed 004: lanes, sessions, terminals, harness status, keyed by operation id. */
export function controlPlaneRoutes(deps: ControlPlaneDeps): Routes {
  const { dispatcher, host, store, workspaces } = deps;
  const settle = deps.settleMs ?? 30_000;

  const until = async <E extends 'lane' | 'terminal'>(entity: E, id: string, pending: string[]) =>
    actorOf(entity, await settled(host, entity, id, pending, settle));

  /** The lane of the path, in the workspace of the path. */
  const lane = async ({ params: p }: HttpRequest) => {
    workspaces.get(p.ws!);
    const a = await readActor(host, 'lane', p.lane!);
    if (!a || a.context.workspaceId !== p.ws)
      throw new TetherError('NOT_FOUND', `lane ${p.lane} does not exist in workspace ${p.ws}`);
    return a;
  };
  /** A command for the lane of the path (a session or terminal in it). */
  const inLane = (req: HttpRequest, entity: string, verb: string, data: Record<string, unknown>) =>
    dispatcher.accept(commandFrom(req, entity, verb, undefined, { laneId: req.params.lane, ...data }));

  return {
    'lanes.create': async (req, reply) => {
      const ws = req.params.ws!;
      workspaces.get(ws);
      const body = parseBody(LaneCreateBody, req.body);
      const r = await dispatcher.accept(
        commandFrom(req, 'lane', 'create', body.lane_id, {
          workspaceId: ws,
          projectContextId: body.project_context_id,
          displayName: body.display_name,
        }),
      );
      return reply.status(201).send(laneView(await until('lane', r.entityId, ['provisioning'])));
    },

    'lanes.list': async (req) => {
      workspaces.get(req.params.ws!);
      const lanes = await listActorsOf(store, 'lane', (a) => a.context.workspaceId === req.params.ws);
      return { items: lanes.map(laneView) };
    },

    'lanes.get': async (req) => laneView(await lane(req)),

    'lanes.attach': async (req) => {
      await lane(req);
      await dispatcher.accept(commandFrom(req, 'lane', 'attach', req.params.lane, {}));
      return laneView(await lane(req));
    },

    'lanes.cleanup': async (req) => {
      await lane(req);
      const body = parseBody(LaneCleanupBody, req.body ?? {});
      await dispatcher.accept(commandFrom(req, 'lane', 'cleanup', req.params.lane, body));
      return laneView(await until('lane', req.params.lane!, ['cleaning']));
    },

    'sessions.ensure': async (req) => {
      await lane(req);
      const body = parseBody(SessionEnsureBody, req.body);
      const r = await inLane(req, 'session', 'ensure', {
        provider: body.provider,
        ...(body.preferred_transport ? { preferredTransport: body.preferred_transport } : {}),
        ...(body.codex_session_id ? { codexSessionId: body.codex_session_id } : {}),
      });
      return sessionView((await readActor(host, 'session', r.entityId))!);
    },

    'sessions.list': async (req) => {
      await lane(req);
      return {
        items: (await listActorsOf(store, 'session', (a) => a.context.laneId === req.params.lane)).map(sessionView),
      };
    },

    'terminals.spawn': async (req, reply) => {
      await lane(req);
      const body = parseBody(TerminalSpawnBody, req.body);
      const r = await inLane(req, 'terminal', 'spawn', {
        sessionId: body.session_id,
        ...(body.title ? { title: body.title } : {}),
      });
      const spawned = await until('terminal', r.entityId, ['spawning']);
      return reply.status(201).send(terminalView(spawned));
    },

    'terminals.list': async (req) => {
      await lane(req);
      return {
        items: (await listActorsOf(store, 'terminal', (a) => a.context.laneId === req.params.lane)).map(terminalView),
      };
    },

    'harness.status': async () => harnessView(await readActor(host, 'harness', HARNESS_ID)),

    'harness.check': async (req) => {
      // Not a command, but a write (the check's result is recorded): the same rules decide who may.
      assertAllowed({ principal: principalOf(req), entity: 'harness', verb: 'check' });
      if (!deps.checkHarness)
        throw new TetherError('NOT_ALLOWED', 'no harness url is configured (set TETHER_HARNESS_URL)', {
          reason: 'HARNESS_NOT_CONFIGURED',
        });
      await deps.checkHarness();
      return harnessView(await readActor(host, 'harness', HARNESS_ID));
    },
  };
}
