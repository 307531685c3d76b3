import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ApprovalApproveBody,
  ApprovalDenyBody,
  GrantWriteBody,
  ParticipantInviteBody,
  ReasonBody,
  sameActor,
  ShareCreateBody,
  ShareExtendBody,
  ShareSwitchBody,
  TetherError,
  Token,
  type ShareCreated,
} from '@tether/contracts';
import type { ShareContext } from '@tether/machines';
import { listActors, type ActorHost, type Dispatcher, type EventStore } from '@tether/runtime';
import { approvalView, shareView, type NativeRelays, type SecretBox } from '@tether/workers';
import { commandFrom, parseBody, settled } from './http-commands.ts';

export interface ShareRouteDeps {
  dispatcher: Dispatcher;
  host: ActorHost;
  store: EventStore;
  relays: NativeRelays;
  secrets: SecretBox;
  /** How long a create waits for the backend to be ready (tmate/upterm: up to their ready timeout). */
  settleMs?: number;
}

type ShareParams = { share: string };
type ParticipantParams = ShareParams & { participant: string };
const ListQuery = z
  .object({ terminal_id: Token.optional(), lane_id: Token.optional(), live: z.enum(['true', 'false']).optional() })
  .strict();

/** Terminal sharing over HTTP (the same commands as tether.cmd.share.*), the viewer WebSocket and the viewer page. */
export function shareRoutes(app: FastifyInstance, deps: ShareRouteDeps) {
  const { dispatcher, host } = deps;
  const settle = deps.settleMs ?? 15_000;

  const share = async (id: string) => {
    const s = await host.state('share', checkId(id, 'share'));
    if (!s) throw new TetherError('NOT_FOUND', `share ${id} does not exist`);
    return s;
  };
  /** Runs a share verb, then answers with the share as it is now. */
  const act = async (req: FastifyRequest<{ Params: ShareParams }>, verb: string, data: Record<string, unknown>) => {
    await share(req.params.share);
    await dispatcher.accept(commandFrom(req, 'share', verb, req.params.share, data));
    return shareView(await share(req.params.share));
  };

  app.post('/v1/shares', async (req, reply) => {
    const body = parseBody(ShareCreateBody, req.body);
    const r = await dispatcher.accept(commandFrom(req, 'share', 'create', undefined, body));
    const s = await settled(host, 'share', r.entityId, ['starting'], settle);
    const created: ShareCreated = { share: shareView(s), link: (r.result as { link: ShareCreated['link'] }).link };
    return reply.status(r.duplicate ? 200 : 201).send(created);
  });

  app.get('/v1/shares', async (req) => {
    const q = parseBody(ListQuery, req.query);
    const items = await listActors(deps.store, 'share', (a) => {
      const c = a.context as ShareContext;
      return (
        (!q.terminal_id || c.terminalId === q.terminal_id) &&
        (!q.lane_id || c.laneId === q.lane_id) &&
        (q.live !== 'true' || a.value !== 'ended')
      );
    });
    return { items: items.map((a) => shareView(a)) };
  });

  app.get<{ Params: ShareParams }>('/v1/shares/:share', async (req) => shareView(await share(req.params.share)));

  /** A tmate/upterm share's links, for its owner only (they are bearer secrets). */
  app.get<{ Params: ShareParams }>('/v1/shares/:share/links', async (req) => {
    const s = await share(req.params.share);
    const c = s.context as ShareContext;
    const who = commandFrom(req, 'share', 'links', req.params.share, {}).actor;
    if (!sameActor(who, c.owner))
      throw new TetherError(
        'NOT_ALLOWED',
        `only the owner (${c.owner.kind}:${c.owner.id}) may read share ${s.entityId}'s links`,
        { reason: 'SHARE_NOT_OWNER' },
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
  });

  app.post<{ Params: ShareParams }>('/v1/shares/:share/extend', async (req) =>
    act(req, 'extend', { ttlMs: parseBody(ShareExtendBody, req.body).ttl_ms }),
  );
  app.post<{ Params: ShareParams }>('/v1/shares/:share/revoke', async (req) =>
    act(req, 'revoke', parseBody(ReasonBody, req.body)),
  );

  app.post<{ Params: ShareParams }>('/v1/shares/:share/switch', async (req, reply) => {
    await share(req.params.share);
    const r = await dispatcher.accept(
      commandFrom(req, 'share', 'switch', req.params.share, parseBody(ShareSwitchBody, req.body)),
    );
    const s = await settled(host, 'share', r.entityId, ['starting'], settle);
    return reply.status(201).send({ share: shareView(s), link: (r.result as { link: ShareCreated['link'] }).link });
  });

  app.get<{ Params: ShareParams }>('/v1/shares/:share/participants', async (req) => ({
    items: shareView(await share(req.params.share)).participants,
  }));

  app.post<{ Params: ShareParams }>('/v1/shares/:share/participants', async (req, reply) => {
    await share(req.params.share);
    const r = await dispatcher.accept(
      commandFrom(req, 'share', 'invite', req.params.share, parseBody(ParticipantInviteBody, req.body)),
    );
    return reply.status(r.duplicate ? 200 : 201).send((r.result as { link: unknown }).link);
  });

  const participantAct =
    (verb: string, body: (b: unknown) => Record<string, unknown>) =>
    async (req: FastifyRequest<{ Params: ParticipantParams }>) => {
      const participantId = checkId(req.params.participant, 'participant');
      return act(req, verb, { participantId, ...body(req.body) });
    };
  app.post<{ Params: ParticipantParams }>(
    '/v1/shares/:share/participants/:participant/grant-write',
    participantAct('grantWrite', (b) => ({ ttlMs: parseBody(GrantWriteBody, b).ttl_ms })),
  );
  app.post<{ Params: ParticipantParams }>(
    '/v1/shares/:share/participants/:participant/revoke-write',
    participantAct('revokeWrite', (b) => parseBody(ReasonBody, b)),
  );
  app.post<{ Params: ParticipantParams }>(
    '/v1/shares/:share/participants/:participant/kick',
    participantAct('kick', (b) => parseBody(ReasonBody, b)),
  );

  app.get('/v1/approvals', async () => ({ items: (await listActors(deps.store, 'approval')).map(approvalView) }));
  app.get<{ Params: { approval: string } }>('/v1/approvals/:approval', async (req) => {
    const id = checkId(req.params.approval, 'approval');
    const a = await host.state('approval', id);
    if (!a) throw new TetherError('NOT_FOUND', `approval ${id} does not exist`);
    return approvalView(a);
  });
  const decide =
    (verb: 'approve' | 'deny', schema: z.ZodType<Record<string, unknown>>) =>
    async (req: FastifyRequest<{ Params: { approval: string } }>) => {
      const id = checkId(req.params.approval, 'approval');
      if (!(await host.state('approval', id))) throw new TetherError('NOT_FOUND', `approval ${id} does not exist`);
      await dispatcher.accept(commandFrom(req, 'approval', verb, id, parseBody(schema, req.body)));
      return approvalView((await host.state('approval', id))!);
    };
  app.post<{ Params: { approval: string } }>('/v1/approvals/:approval/approve', decide('approve', ApprovalApproveBody));
  app.post<{ Params: { approval: string } }>('/v1/approvals/:approval/deny', decide('deny', ApprovalDenyBody));

  // Viewers: the WebSocket of a share (token in the first message, never in the URL or a log).
  app.server.on('upgrade', (req, socket, head) => {
    const m = /^\/v1\/shares\/([A-Za-z0-9_-]{1,128})\/ws(?:\?.*)?$/.exec(req.url ?? '');
    if (!m) return void socket.destroy();
    deps.relays.handleUpgrade(req, socket, head, m[1]!);
  });
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
