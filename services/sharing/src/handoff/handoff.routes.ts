import {
  HandoffAcceptBody,
  HandoffCancelBody,
  HandoffListQuery,
  HandoffRequestBody,
  parseActorRef,
  sameActor,
  TetherError,
  Token,
} from '@tether/contracts';
import { isLiveHandoff } from '@tether/machines';
import { actorOf, handoffView, listActorsOf, readActor } from '@tether/projector';
import { commandFrom, parseBody, settled, type RouteDeps, type Routes } from '@tether/runtime';

const who = (a: { kind: string; id: string }) => `${a.kind}:${a.id}`;

/** Handoffs over HTTP (the same commands as tether.cmd.handoff.*), keyed by operation id. */
export function handoffRoutes(deps: RouteDeps): Routes {
  const { dispatcher, host } = deps;
  const settle = deps.settleMs ?? 10_000;

  const handoff = async (id: string) => {
    const r = Token.safeParse(id);
    if (!r.success)
      throw new TetherError(
        'INVALID_COMMAND',
        `invalid request: "${id.slice(0, 64)}" is not a handoff id: ${r.error.issues[0]?.message}`,
      );
    const h = await readActor(host, 'handoff', r.data);
    if (!h) throw new TetherError('NOT_FOUND', `handoff ${id} does not exist`);
    return h;
  };
  /** The handoff once its workers moved it past `pending` (bounded: a slow capture answers with where it is). */
  const after = async (id: string, pending: string[]) =>
    handoffView(actorOf('handoff', await settled(host, 'handoff', id, pending, settle)));

  return {
    'handoffs.request': async (req, reply) => {
      const body = parseBody(HandoffRequestBody, req.body);
      const r = await dispatcher.accept(commandFrom(req, 'handoff', 'request', undefined, body));
      return reply.status(201).send(await after(r.entityId, ['requested']));
    },

    'handoffs.list': async (req) => {
      const q = parseBody(HandoffListQuery, req.query);
      const to = q.to ? parseActorRef(q.to) : undefined;
      const items = await listActorsOf(
        deps.store,
        'handoff',
        ({ context: c, value }) =>
          (!q.terminal_id || c.terminalId === q.terminal_id) &&
          (!to || sameActor(c.to, to)) &&
          (q.live !== 'true' || isLiveHandoff(value)),
      );
      return { items: items.map(handoffView) };
    },

    'handoffs.inbox': async (req) => {
      const me = commandFrom(req, 'handoff', 'inbox', undefined, {}).actor;
      const items = await listActorsOf(
        deps.store,
        'handoff',
        (a) => isLiveHandoff(a.value) && sameActor(a.context.to, me),
      );
      return { items: items.map(handoffView) };
    },

    'handoffs.get': async (req) => handoffView(await handoff(req.params.handoff!)),

    'handoffs.accept': async (req) => {
      const h = await handoff(req.params.handoff!);
      const { session_id } = parseBody(HandoffAcceptBody, req.body);
      const cmd = commandFrom(req, 'handoff', 'accept', h.entityId, session_id ? { sessionId: session_id } : {});
      await dispatcher.accept(cmd);
      const done = await after(h.entityId, ['transferring']);
      req.log.info(
        { handoffId: h.entityId, correlationId: cmd.correlationId, status: done.status, receiver: who(cmd.actor) },
        'handoff accepted',
      );
      return done;
    },

    'handoffs.cancel': async (req) => {
      const h = await handoff(req.params.handoff!);
      await dispatcher.accept(
        commandFrom(req, 'handoff', 'cancel', h.entityId, parseBody(HandoffCancelBody, req.body)),
      );
      return handoffView((await readActor(host, 'handoff', h.entityId))!);
    },
  };
}
