import {
  assertAllowed,
  parseActorRef,
  HandoffAcceptBody,
  HandoffCancelBody,
  HandoffListQuery,
  HandoffRequestBody,
  sameActor,
  TetherError,
  Token,
  actorRef,
} from '@tether/contracts';
import { isLiveHandoff } from '@tether/machines';
import { actorOf, handoffView, listActorsOf, readActor } from '@tether/projector';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandFrom, parseBody, principalOf, settled, type RouteDeps, type Routes } from '@tether/runtime';
import type { SecretBox } from '../secrets.ts';

export interface HandoffRouteDeps extends RouteDeps {
  secrets: SecretBox;
  /** The data folder, where the sealed environments are. */
  home: string;
}

/** Handoffs over HTTP (the same commands as tether.cmd.handoff.*), keyed by operation id. */
export function handoffRoutes(deps: HandoffRouteDeps): Routes {
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
      const me = principalOf(req).actor;
      const items = await listActorsOf(
        deps.store,
        'handoff',
        (a) => isLiveHandoff(a.value) && sameActor(a.context.to, me),
      );
      return { items: items.map(handoffView) };
    },

    'handoffs.get': async (req) => handoffView(await handoff(req.params.handoff!)),

    'handoffs.environment': async (req) => {
      const principal = principalOf(req);
      assertAllowed({ principal, entity: 'handoff', verb: 'environment' }); // no viewer token, even the receiver's
      const h = await handoff(req.params.handoff!);
      const me = principal.actor;
      if (!sameActor(me, h.context.to))
        throw new TetherError(
          'FORBIDDEN',
          `only the receiver of handoff ${h.entityId} (${actorRef(h.context.to)}) may read the environment it hands over; ${actorRef(me)} may not`,
          { reason: 'handoff-environment-receiver-only' },
        );
      const ref = h.context.context?.env.sealedRef;
      if (!ref || !['transferring', 'completed'].includes(String(h.value)))
        throw new TetherError(
          'NOT_ALLOWED',
          `handoff ${h.entityId} is ${String(h.value)}; its environment is the receiver's once it has accepted`,
          { reason: 'HANDOFF_NOT_ACCEPTED' },
        );
      let environment: Record<string, string>;
      try {
        environment = deps.secrets.open<Record<string, string>>(readFileSync(join(deps.home, ref), 'utf8'));
      } catch (err) {
        throw new TetherError(
          'NOT_FOUND',
          `the sealed environment of handoff ${h.entityId} cannot be opened on this tether (${(err as Error).message.slice(0, 200)})`,
        );
      }
      return { handoff_id: h.entityId, environment };
    },

    'handoffs.accept': async (req) => {
      const h = await handoff(req.params.handoff!);
      const { session_id } = parseBody(HandoffAcceptBody, req.body);
      const cmd = commandFrom(req, 'handoff', 'accept', h.entityId, session_id ? { sessionId: session_id } : {});
      await dispatcher.accept(cmd);
      const done = await after(h.entityId, ['transferring']);
      req.log.info(
        { handoffId: h.entityId, correlationId: cmd.correlationId, status: done.status, receiver: actorRef(cmd.actor) },
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
