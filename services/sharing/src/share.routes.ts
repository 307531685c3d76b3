import type { z } from 'zod';
import {
  ApprovalApproveBody,
  ApprovalDenyBody,
  ApprovalListQuery,
  GrantWriteBody,
  ParticipantInviteBody,
  ReasonBody,
  assertAllowed,
  sameActor,
  ShareCreateBody,
  ShareExtendBody,
  ShareListQuery,
  ShareSwitchBody,
  TetherError,
  Token,
  parseData,
  type ShareCreated,
} from '@tether/contracts';
import {
  actorOf,
  approvalView,
  listActorsOf,
  liveHandoffsByTerminal,
  pageOf,
  readActor,
  shareView,
  type ActorOf,
} from '@tether/projector';
import {
  commandFrom,
  givenParams,
  principalOf,
  parseBody,
  settled,
  type HttpRequest,
  type RouteDeps,
  type RouteHandler,
  type Routes,
} from '@tether/runtime';
import { approvalMatches, shareMatches } from './share-history.ts';
import type { SecretBox } from './secrets.ts';

export interface ShareRouteDeps extends RouteDeps {
  secrets: SecretBox;
}

/** Terminal sharing over HTTP (the same commands as tether.cmd.share.*), keyed by operation id. */
export function shareRoutes(deps: ShareRouteDeps): Routes {
  const { dispatcher, host } = deps;
  const settle = deps.settleMs ?? 15_000;

  const share = async (id: string) => {
    const s = await readActor(host, 'share', checkId(id, 'share'));
    if (!s) throw new TetherError('NOT_FOUND', `share ${id} does not exist`);
    return s;
  };
  /** The share as this process knows it, for routes that only need it to exist (a share is never deleted). */
  const known = async (id: string) => {
    const s = await host.stateAt('share', checkId(id, 'share'), 0);
    if (!s) throw new TetherError('NOT_FOUND', `share ${id} does not exist`);
    return actorOf('share', s);
  };
  const started = async (id: string) => actorOf('share', await settled(host, 'share', id, ['starting'], settle));
  /** Shares as the API shows them, each with the handoff going on for its terminal, if any (the badge). */
  const views = async (items: ActorOf<'share'>[]) => {
    const handoffs = await liveHandoffsByTerminal(deps.store);
    return items.map((a) => shareView(a, Date.now(), handoffs.get(a.context.terminalId) ?? null));
  };
  const view = async (a: ActorOf<'share'>) => (await views([a]))[0]!;
  /**
   * Runs a share verb, then answers with the share as the verb left it: neither read waits behind the
   * commands queued for the share (its viewers' joins and leaves, a leave each as a revoke cuts them off).
   */
  const act = async (req: HttpRequest, verb: string, data: Record<string, unknown>) => {
    const id = (await known(req.params.share!)).entityId;
    const r = await dispatcher.accept(commandFrom(req, 'share', verb, id, data));
    return view(actorOf('share', (await host.stateAt('share', id, r.streamSeq))!));
  };
  const participantAct =
    (verb: string, body: (b: unknown) => Record<string, unknown>): RouteHandler =>
    async (req) => {
      const participantId = checkId(req.params.participant!, 'participant');
      return act(req, verb, { participantId, ...body(req.body) });
    };
  const approval = async (req: HttpRequest) => {
    const id = checkId(req.params.approval!, 'approval');
    const a = await readActor(host, 'approval', id);
    if (!a) throw new TetherError('NOT_FOUND', `approval ${id} does not exist`);
    return a;
  };
  const decide =
    (verb: 'approve' | 'deny', schema: z.ZodType<Record<string, unknown>>): RouteHandler =>
    async (req) => {
      const { entityId: id } = await approval(req);
      await dispatcher.accept(commandFrom(req, 'approval', verb, id, parseBody(schema, req.body)));
      return approvalView((await readActor(host, 'approval', id))!);
    };

  return {
    'shares.create': async (req, reply) => {
      const body = parseBody(ShareCreateBody, req.body);
      const r = await dispatcher.accept(commandFrom(req, 'share', 'create', undefined, body));
      const s = await started(r.entityId);
      const created: ShareCreated = { share: await view(s), link: (r.result as { link: ShareCreated['link'] }).link };
      return reply.status(201).send(created);
    },

    'shares.list': async (req) => {
      const q = parseData(ShareListQuery, 'share list query', givenParams(req.query));
      return pageOf(await listActorsOf(deps.store, 'share', shareMatches(q)), q, views);
    },

    'shares.get': async (req) => view(await share(req.params.share!)),

    /** A tmate/upterm share's links, for its owner only (they are bearer secrets). */
    'shares.links': async (req) => {
      const principal = principalOf(req);
      assertAllowed({ principal, entity: 'share', verb: 'links' }); // no viewer token, even the owner's
      const s = await share(req.params.share!);
      const c = s.context;
      const who = principal.actor;
      if (!sameActor(who, c.owner))
        throw new TetherError(
          'FORBIDDEN',
          `only the owner (${c.owner.kind}:${c.owner.id}) may read share ${s.entityId}'s links; ${who.kind}:${who.id} may not`,
          { reason: 'share-links-owner-only' },
        );
      if (!c.sealedLinks || s.value === 'ended')
        throw new TetherError(
          'NOT_FOUND',
          `share ${s.entityId} has no backend links (${c.backend === 'native' ? 'native shares use participant links' : String(s.value)})`,
        );
      return {
        share_id: s.entityId,
        backend: c.backend,
        links: deps.secrets.open<Record<string, string>>(c.sealedLinks),
      };
    },

    'shares.extend': async (req) => act(req, 'extend', { ttlMs: parseBody(ShareExtendBody, req.body).ttl_ms }),
    'shares.revoke': async (req) => act(req, 'revoke', parseBody(ReasonBody, req.body)),

    'shares.switch': async (req, reply) => {
      await share(req.params.share!);
      const r = await dispatcher.accept(
        commandFrom(req, 'share', 'switch', req.params.share, parseBody(ShareSwitchBody, req.body)),
      );
      const s = await started(r.entityId);
      return reply.status(201).send({ share: await view(s), link: (r.result as { link: ShareCreated['link'] }).link });
    },

    'participants.list': async (req) => ({ items: shareView(await share(req.params.share!)).participants }),

    'participants.invite': async (req, reply) => {
      await share(req.params.share!);
      const r = await dispatcher.accept(
        commandFrom(req, 'share', 'invite', req.params.share, parseBody(ParticipantInviteBody, req.body)),
      );
      return reply.status(201).send((r.result as { link: unknown }).link);
    },

    'participants.grantWrite': participantAct('grantWrite', (b) => ({ ttlMs: parseBody(GrantWriteBody, b).ttl_ms })),
    'participants.revokeWrite': participantAct('revokeWrite', (b) => parseBody(ReasonBody, b)),
    'participants.kick': participantAct('kick', (b) => parseBody(ReasonBody, b)),

    'approvals.list': async (req) => {
      const q = parseData(ApprovalListQuery, 'approval list query', givenParams(req.query));
      return pageOf(await listActorsOf(deps.store, 'approval', approvalMatches(q)), q, (page) =>
        page.map(approvalView),
      );
    },
    'approvals.get': async (req) => approvalView(await approval(req)),
    'approvals.approve': decide('approve', ApprovalApproveBody),
    'approvals.deny': decide('deny', ApprovalDenyBody),
  };
}

function checkId(id: string, what: string): string {
  const r = Token.safeParse(id);
  if (!r.success)
    throw new TetherError(
      'INVALID_COMMAND',
      `invalid request: "${id.slice(0, 64)}" is not a ${what} id: ${r.error.issues[0]?.message}`,
    );
  return r.data;
}
