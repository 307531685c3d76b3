import {
  sameActor,
  actorRef,
  GrantLiveWriteBody,
  LiveEnableBody,
  LiveRevokeBody,
  OperatorMessageBody,
  TaskControlBody,
  TaskRunBody,
  TaskRunListQuery,
  TetherError,
  Token,
  type CommandAccepted,
  type LiveLinkReply,
  type OperatorMessage,
  type Principal,
  type StoredEvent,
  type TaskRunView,
} from '@tether/contracts';
import {
  actorOf,
  listActorsOf,
  liveSessionIdOf,
  liveSessionView,
  readActor,
  taskRunView,
  type ActorOf,
} from '@tether/projector';
import {
  commandFrom,
  parseBody,
  principalOf,
  settled,
  settledWhen,
  type HttpRequest,
  type RouteDeps,
  type Routes,
} from '@tether/runtime';
import type { SecretBox } from '../secrets.ts';

export interface TaskRunRouteDeps extends RouteDeps {
  /** Opens a tmate session's sealed read-only endpoints for those who may watch; without it, none are shown. */
  secrets?: SecretBox;
}

/** Live sessions that still serve watchers (`?live=true`). */
const UP = new Set(['starting', 'ready']);
/** The run's events that put a line in the agent's inbox, in the order the inbox file has them (envelope types). */
const INBOX_EVENTS = new Set(['taskRun.message', 'taskRun.release']);

/** Drops keys whose value is undefined: entity verbs take strict data. */
const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The inbox lines of a run's events: each message, and each release's summary; `seq` counts them as the run does. */
export function operatorMessagesOf(taskRunId: string, events: StoredEvent[]): OperatorMessage[] {
  return events
    .filter((e) => INBOX_EVENTS.has(e.event.type))
    .map(({ event: e }, i) => ({
      ts: e.at,
      actor: actorRef(e.actor),
      message: String(e.type === 'taskRun.release' ? e.data.summary : e.data.message),
      task_run_id: taskRunId,
      seq: i + 1,
    }));
}

/** Task runs and their live sessions over HTTP (the same commands as tether.cmd.taskRun.* and liveSession.*). */
export function taskRunRoutes(deps: TaskRunRouteDeps): Routes {
  const { dispatcher, host, store } = deps;
  const settle = deps.settleMs ?? 15_000;

  const run = async (id: string) => {
    const r = Token.safeParse(id);
    if (!r.success)
      throw new TetherError(
        'INVALID_COMMAND',
        `invalid request: "${id.slice(0, 64)}" is not a task run id: ${r.error.issues[0]?.message}`,
      );
    const a = await readActor(host, 'taskRun', r.data);
    if (!a) throw new TetherError('NOT_FOUND', `task run ${id} does not exist (\`tether task list\` lists runs)`);
    return a;
  };

  /** tmate's read-only endpoints, for anyone but a share viewer's token; native sessions have per-person links instead. */
  const readOnlyFor = (ls: ActorOf<'liveSession'>, principal: Principal): Record<string, string> => {
    const sealed = ls.context.sealedReadOnly;
    // Attach tokens go to those entitled to watch: operators, the session's owner and its grantees.
    const entitled =
      principal.role === 'operator' ||
      sameActor(ls.context.owner, principal.actor) ||
      ls.context.grants.some((g) => sameActor(g.to, principal.actor));
    if (!sealed || !deps.secrets || !entitled || !UP.has(String(ls.value))) return {};
    try {
      return deps.secrets.open<Record<string, string>>(sealed);
    } catch {
      return {}; // sealed by another installation's key: nothing to show here
    }
  };
  const liveOf = async (req: HttpRequest, taskRunId: string) => {
    const ls = await readActor(host, 'liveSession', liveSessionIdOf(taskRunId));
    return ls && liveSessionView(ls, Date.now(), readOnlyFor(ls, principalOf(req)));
  };
  const view = async (req: HttpRequest, id: string): Promise<TaskRunView> => {
    const a = await run(id);
    return taskRunView(a, await liveOf(req, a.entityId));
  };

  /** Waits (bounded) until the run left `pending` and its live session, if it has one, is no longer starting. */
  const settledRun = async (id: string, pending: string[]) => {
    await settled(host, 'taskRun', id, pending, settle);
    if (await host.state('liveSession', liveSessionIdOf(id)))
      await settled(host, 'liveSession', liveSessionIdOf(id), ['starting'], settle);
  };
  /** Waits (bounded) until the agent honoured the pause in force, or the run is no longer paused. */
  const honoured = (id: string) =>
    settledWhen(
      host,
      'taskRun',
      id,
      (a) => a.value !== 'paused' || !!actorOf('taskRun', a).context.pause?.honouredAt,
      settle,
    );
  /** An application command's reply with the run as it is now: the caller's link (shown once) from its result. */
  const linkReply = async (req: HttpRequest, id: string, accepted?: CommandAccepted): Promise<LiveLinkReply> => {
    const result = (accepted?.result ?? {}) as Partial<LiveLinkReply>;
    return { task_run: await view(req, id), link: result.link ?? null, endpoints: result.endpoints ?? null };
  };
  const messages = async (id: string) => operatorMessagesOf(id, await store.readEntity('taskRun', id));

  return {
    'taskRuns.run': async (req, reply) => {
      const body = parseBody(TaskRunBody, req.body);
      const accepted = await dispatcher.accept(commandFrom(req, 'taskRun', 'run', undefined, body));
      await settledRun(accepted.entityId, ['queued']);
      return reply.status(201).send(await linkReply(req, accepted.entityId, accepted));
    },

    'taskRuns.list': async (req) => {
      const q = parseBody(TaskRunListQuery, req.query);
      const principal = principalOf(req);
      const sessions = new Map(
        (await listActorsOf(store, 'liveSession')).map((ls) => [
          ls.context.taskRunId,
          liveSessionView(ls, Date.now(), readOnlyFor(ls, principal)),
        ]),
      );
      const runs = await listActorsOf(store, 'taskRun', (a) => !q.lane_id || a.context.laneId === q.lane_id);
      const items = runs
        .map((a) => taskRunView(a, sessions.get(a.entityId)))
        .filter(
          (v) =>
            q.live === undefined || (v.live_session !== null && UP.has(v.live_session.status)) === (q.live === 'true'),
        );
      return { items };
    },

    'taskRuns.get': async (req) => view(req, req.params.run!),

    'taskRuns.control': async (req) => {
      const body = parseBody(TaskControlBody, req.body);
      const id = (await run(req.params.run!)).entityId;
      const { action, ...data } = body;
      // takeover spans entities (the pause and the write grant); every other action is the run's own verb.
      const accepted = await dispatcher.accept(commandFrom(req, 'taskRun', action, id, defined(data)));
      if (action === 'pause' || action === 'takeover') await honoured(id);
      if (action === 'cancel') await settled(host, 'taskRun', id, ['cancelling'], settle);
      req.log.info(
        { taskRunId: id, correlationId: accepted.correlationId, action, by: actorRef(principalOf(req).actor) },
        'task run control',
      );
      return linkReply(req, id, action === 'takeover' ? accepted : undefined);
    },

    'taskRuns.messages': async (req) => ({ items: await messages((await run(req.params.run!)).entityId) }),

    'taskRuns.message': async (req, reply) => {
      const body = parseBody(OperatorMessageBody, req.body);
      const id = (await run(req.params.run!)).entityId;
      const accepted = await dispatcher.accept(commandFrom(req, 'taskRun', 'message', id, body));
      // The message as the inbox has it: its event (found by the version the command wrote, also on a resend).
      const events = (await store.readEntity('taskRun', id)).filter((e) => INBOX_EVENTS.has(e.event.type));
      const all = operatorMessagesOf(id, events);
      const at = events.findIndex((e) => e.event.seq === accepted.seq);
      return reply.status(201).send(all[at] ?? all[all.length - 1]);
    },

    'liveSessions.enable': async (req) => {
      const body = parseBody(LiveEnableBody.omit({ task_run_id: true }), req.body);
      const id = (await run(req.params.run!)).entityId;
      const accepted = await dispatcher.accept(
        commandFrom(req, 'liveSession', 'enable', undefined, { task_run_id: id, ...body }),
      );
      await settledRun(id, []);
      return linkReply(req, id, accepted);
    },

    'liveSessions.get': async (req) => {
      const id = (await run(req.params.run!)).entityId;
      const live = await liveOf(req, id);
      if (!live)
        throw new TetherError(
          'NOT_FOUND',
          `task run ${id} has no live session; start one with POST /v1/task-runs/${id}/live-session (or \`tether task watch ${id}\`)`,
        );
      return live;
    },

    'liveSessions.grantWrite': async (req) => {
      const body = parseBody(GrantLiveWriteBody, req.body);
      const id = (await run(req.params.run!)).entityId;
      const accepted = await dispatcher.accept(
        commandFrom(req, 'liveSession', 'grantWrite', liveSessionIdOf(id), defined(body)),
      );
      return linkReply(req, id, accepted);
    },

    'liveSessions.revoke': async (req) => {
      const { scope, to, reason } = parseBody(LiveRevokeBody, req.body);
      const id = (await run(req.params.run!)).entityId;
      if (scope === 'session' && to)
        throw new TetherError(
          'INVALID_COMMAND',
          'invalid request body: `to` names one person whose write grant ends (scope "write"); scope "session" ends the session for everyone',
          { issues: [{ path: ['to'], message: 'only with scope "write"' }] },
        );
      const verb = scope === 'write' ? 'revokeWrite' : 'revoke';
      await dispatcher.accept(commandFrom(req, 'liveSession', verb, liveSessionIdOf(id), defined({ to, reason })));
      const ls = actorOf('liveSession', (await host.state('liveSession', liveSessionIdOf(id)))!);
      return liveSessionView(ls, Date.now(), readOnlyFor(ls, principalOf(req)));
    },
  };
}
