import { z } from 'zod';
import { CommandAccepted, CommandRejected, CommandRequest } from '../command.ts';
import { EventEnvelope } from '../envelope.ts';
import { HTTP_STATUS } from '../errors.ts';
import { entityContracts } from '../entities.ts';
import {
  HarnessStatusView,
  LaneCleanupBody,
  LaneCreateBody,
  LaneView,
  SessionEnsureBody,
  TerminalSpawnBody,
  TerminalView,
} from '../api/control-plane.ts';
import { SessionView, sessionEnsure } from '../entities/control-plane.ts';
import {
  ApprovalApproveBody,
  ApprovalDenyBody,
  ApprovalView,
  GrantWriteBody,
  ParticipantInviteBody,
  ParticipantLink,
  ParticipantView,
  ReasonBody,
  ShareCreateBody,
  ShareCreated,
  ShareExtendBody,
  ShareLinksView,
  ShareSwitchBody,
  ShareView,
  shareApplicationCommands,
} from '../api/sharing.ts';
import { AuditList, AuditVerdict } from '../audit.ts';

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};
const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const rejected = (description: string) => ({ description, content: json('CommandRejected') });
const errorStatuses = [...new Set(Object.values(HTTP_STATUS))].sort();

/** The OpenAPI 3.1 document of the gateway, derived from the zod contracts (never edited by hand). */
export function openApiDocument() {
  const schemas: Record<string, unknown> = {
    CommandAccepted: schema(CommandAccepted),
    CommandRejected: schema(CommandRejected),
    EventEnvelope: schema(EventEnvelope),
    LaneCreateBody: schema(LaneCreateBody, 'input'),
    LaneCleanupBody: schema(LaneCleanupBody, 'input'),
    SessionEnsureBody: schema(SessionEnsureBody, 'input'),
    TerminalSpawnBody: schema(TerminalSpawnBody, 'input'),
    LaneView: schema(LaneView),
    SessionView: schema(SessionView),
    TerminalView: schema(TerminalView),
    HarnessStatusView: schema(HarnessStatusView),
    ShareCreateBody: schema(ShareCreateBody, 'input'),
    ShareExtendBody: schema(ShareExtendBody, 'input'),
    ShareSwitchBody: schema(ShareSwitchBody, 'input'),
    ReasonBody: schema(ReasonBody, 'input'),
    ParticipantInviteBody: schema(ParticipantInviteBody, 'input'),
    GrantWriteBody: schema(GrantWriteBody, 'input'),
    ApprovalApproveBody: schema(ApprovalApproveBody, 'input'),
    ApprovalDenyBody: schema(ApprovalDenyBody, 'input'),
    ShareView: schema(ShareView),
    ShareCreated: schema(ShareCreated),
    ShareLinksView: schema(ShareLinksView),
    ParticipantView: schema(ParticipantView),
    ParticipantLink: schema(ParticipantLink),
    ApprovalView: schema(ApprovalView),
    AuditList: schema(AuditList),
    AuditVerdict: schema(AuditVerdict),
  };
  const paths: Record<string, unknown> = {};
  const commands: [string, Record<string, { data: z.ZodType; summary: string; creates?: boolean }>][] = [
    ...Object.entries(entityContracts),
    ['session', { ensure: sessionEnsure }],
    ['share', shareApplicationCommands],
  ];
  for (const [entity, verbs] of commands) {
    for (const [verb, c] of Object.entries(verbs)) {
      const name = `${cap(entity)}${cap(verb)}Command`;
      schemas[name] = schema(CommandRequest.extend({ data: c.data }), 'input');
      paths[`/v1/commands/${entity}/${verb}`] = {
        post: {
          operationId: `${entity}.${verb}`,
          summary: c.summary,
          description: `Also on NATS: request/reply on tether.cmd.${entity}.${verb}.`,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string' },
              description: 'Command id; a resend returns the original result',
            },
            { name: 'X-Correlation-Id', in: 'header', required: false, schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: json(name) },
          responses: {
            ['creates' in c && c.creates ? '201' : '200']: {
              description: 'accepted and persisted',
              content: json('CommandAccepted'),
            },
            ...('creates' in c && c.creates
              ? { '200': { description: 'a resent command id: the original result', content: json('CommandAccepted') } }
              : {}),
            ...Object.fromEntries(errorStatuses.map((s) => [String(s), rejected(describe(s))])),
          },
        },
      };
    }
  }
  const entityParams = [
    { name: 'entity', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(entityContracts) } },
    { name: 'entityId', in: 'path', required: true, schema: { type: 'string' } },
  ];
  Object.assign(paths, {
    '/v1/entities/{entity}/{entityId}': {
      get: {
        operationId: 'entity.get',
        summary: 'Current state and context of one actor (replayed from its events)',
        parameters: entityParams,
        responses: {
          '200': { description: 'the actor', content: { 'application/json': { schema: actorSchema } } },
          '404': rejected('no such entity'),
        },
      },
    },
    '/v1/entities/{entity}/{entityId}/events': {
      get: {
        operationId: 'entity.events',
        summary: 'Every event of one actor, oldest first',
        parameters: entityParams,
        responses: {
          '200': {
            description: 'events',
            content: {
              'application/json': {
                schema: {
                  type: 'array',
                  items: {
                    allOf: [
                      { $ref: '#/components/schemas/EventEnvelope' },
                      { type: 'object', properties: { streamSeq: { type: 'integer' } } },
                    ],
                  },
                },
              },
            },
          },
          '404': rejected('no such entity'),
        },
      },
    },
    '/v1/entities/{entity}': {
      get: {
        operationId: 'entity.list',
        summary: 'Every actor of one entity kind, from the actors read model',
        parameters: [entityParams[0]],
        responses: {
          '200': {
            description: 'actors',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { items: { type: 'array', items: actorSchema } } },
              },
            },
          },
          '404': rejected('unknown entity'),
        },
      },
    },
    '/v1/projections': {
      get: {
        operationId: 'projections.list',
        summary: 'Read models and their lag',
        responses: {
          '200': { description: 'projections', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (projection lag, stream head)',
        responses: {
          '200': { description: 'text exposition', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'healthz',
        summary: 'Liveness and store kind',
        responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        responses: {
          '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  });
  Object.assign(paths, controlPlanePaths(), sharingPaths(), {
    '/v1/audit': {
      get: op(
        'audit.list',
        'Audit records (who, when, why; redacted, hash-chained), newest `limit` or the page after `after`; also on NATS stream TETHER_AUDIT, tether.audit.<entity>.<verb>',
        ['entity', 'entity_id', 'after', 'limit'].map((name) => ({
          name,
          in: 'query',
          required: false,
          schema: { type: 'string' },
        })),
        ok('AuditList'),
      ),
    },
    '/v1/audit/verify': {
      get: op('audit.verify', 'Check the hash chain of the whole audit trail', [], ok('AuditVerdict')),
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'tether',
      version: '0.1.0',
      description:
        'Control plane for terminals shared between humans and AI agents. Generated from contracts/; do not edit.',
    },
    paths,
    components: { schemas },
  };
}

const actorSchema = {
  type: 'object',
  required: ['entity', 'entityId', 'version', 'streamSeq', 'value', 'context'],
  properties: {
    entity: { type: 'string' },
    entityId: { type: 'string' },
    version: { type: 'integer' },
    streamSeq: { type: 'integer' },
    value: {},
    context: { type: 'object' },
  },
};

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
function describe(status: number) {
  const codes = Object.entries(HTTP_STATUS)
    .filter(([, s]) => s === status)
    .map(([c]) => c);
  return `rejected, nothing written: ${codes.join(' | ')}`;
}

const param = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const body = (ref: string, required = true) => ({ required, content: json(ref) });
const ok = (ref: string, status = '200', description = 'ok') => ({ [status]: { description, content: json(ref) } });
const list = (ref: string) => ({
  '200': {
    description: 'ok',
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['items'],
          properties: { items: { type: 'array', items: { $ref: `#/components/schemas/${ref}` } } },
        },
      },
    },
  },
});
const op = (operationId: string, summary: string, parameters: unknown[], responses: object, requestBody?: object) => ({
  operationId,
  summary,
  parameters,
  ...(requestBody ? { requestBody } : {}),
  responses: { ...responses, ...Object.fromEntries(errorStatuses.map((st) => [String(st), rejected(describe(st))])) },
});

/** Terminal sharing: shares, participants, approvals (plus the viewer WebSocket GET /v1/shares/{share}/ws and page GET /v/{share}). */
function sharingPaths() {
  const [share, participant, approval] = [param('share'), param('participant'), param('approval')];
  const query = (name: string) => ({ name, in: 'query', required: false, schema: { type: 'string' } });
  return {
    '/v1/shares': {
      post: op(
        'shares.create',
        shareApplicationCommands.create.summary,
        [],
        {
          ...ok('ShareCreated', '201', 'created'),
          ...ok('ShareCreated', '200', 'a resent Idempotency-Key: the original share and link'),
        },
        body('ShareCreateBody'),
      ),
      get: op(
        'shares.list',
        'Shares, optionally of one terminal or lane, or only live ones',
        [query('terminal_id'), query('lane_id'), query('live')],
        list('ShareView'),
      ),
    },
    '/v1/shares/{share}': { get: op('shares.get', 'One share', [share], ok('ShareView')) },
    '/v1/shares/{share}/links': {
      get: op('shares.links', "A tmate/upterm share's links, for its owner only", [share], ok('ShareLinksView')),
    },
    '/v1/shares/{share}/extend': {
      post: op(
        'shares.extend',
        'Add time (owner; the time left stays within the maximum TTL)',
        [share],
        ok('ShareView'),
        body('ShareExtendBody'),
      ),
    },
    '/v1/shares/{share}/revoke': {
      post: op(
        'shares.revoke',
        'End the share now; every participant is disconnected with the reason',
        [share],
        ok('ShareView'),
        body('ReasonBody', false),
      ),
    },
    '/v1/shares/{share}/switch': {
      post: op(
        'shares.switch',
        shareApplicationCommands.switch.summary,
        [share],
        ok('ShareCreated', '201', 'the new share'),
        body('ShareSwitchBody'),
      ),
    },
    '/v1/shares/{share}/participants': {
      get: op('participants.list', 'Participants of the share', [share], list('ParticipantView')),
      post: op(
        'participants.invite',
        shareApplicationCommands.invite.summary,
        [share],
        ok('ParticipantLink', '201', 'the link, shown once'),
        body('ParticipantInviteBody'),
      ),
    },
    '/v1/shares/{share}/participants/{participant}/grant-write': {
      post: op(
        'participants.grantWrite',
        'Let one participant type until the grant expires (owner; write shares only)',
        [share, participant],
        ok('ShareView'),
        body('GrantWriteBody', false),
      ),
    },
    '/v1/shares/{share}/participants/{participant}/revoke-write': {
      post: op(
        'participants.revokeWrite',
        'Make one participant read-only again (owner)',
        [share, participant],
        ok('ShareView'),
        body('ReasonBody', false),
      ),
    },
    '/v1/shares/{share}/participants/{participant}/kick': {
      post: op(
        'participants.kick',
        'Disconnect one participant and invalidate their link (owner)',
        [share, participant],
        ok('ShareView'),
        body('ReasonBody', false),
      ),
    },
    '/v1/approvals': {
      get: op('approvals.list', 'Approvals of shares held by a policy rule', [], list('ApprovalView')),
    },
    '/v1/approvals/{approval}': { get: op('approvals.get', 'One approval', [approval], ok('ApprovalView')) },
    '/v1/approvals/{approval}/approve': {
      post: op(
        'approvals.approve',
        'Approve (a human other than the requester)',
        [approval],
        ok('ApprovalView'),
        body('ApprovalApproveBody', false),
      ),
    },
    '/v1/approvals/{approval}/deny': {
      post: op('approvals.deny', 'Deny with a reason', [approval], ok('ApprovalView'), body('ApprovalDenyBody')),
    },
  };
}

/** The control-plane API of seed 004 (lanes, sessions, terminals, harness). */
function controlPlanePaths() {
  const ws = param('ws');
  const lane = param('lane');
  return {
    '/v1/workspaces/{ws}/lanes': {
      post: op(
        'lanes.create',
        'Create a lane; answers once its worktree exists (or provisioning failed)',
        [ws],
        ok('LaneView', '201', 'created'),
        body('LaneCreateBody'),
      ),
      get: op('lanes.list', 'Lanes of the workspace', [ws], list('LaneView')),
    },
    '/v1/workspaces/{ws}/lanes/{lane}': { get: op('lanes.get', 'One lane', [ws, lane], ok('LaneView')) },
    '/v1/workspaces/{ws}/lanes/{lane}/attach': {
      post: op('lanes.attach', 'Attach to a lane (ready → running)', [ws, lane], ok('LaneView')),
    },
    '/v1/workspaces/{ws}/lanes/{lane}/cleanup': {
      post: op(
        'lanes.cleanup',
        'End a lane: close its terminals, end its session, remove its worktree',
        [ws, lane],
        ok('LaneView'),
        { required: false, content: json('LaneCleanupBody') },
      ),
    },
    '/v1/workspaces/{ws}/lanes/{lane}/sessions': {
      post: op(
        'sessions.ensure',
        "Return the lane's active session or start one (also tether.cmd.session.ensure)",
        [ws, lane],
        ok('SessionView'),
        body('SessionEnsureBody'),
      ),
      get: op('sessions.list', 'Sessions of the lane', [ws, lane], list('SessionView')),
    },
    '/v1/workspaces/{ws}/lanes/{lane}/terminals': {
      post: op(
        'terminals.spawn',
        "Spawn a shell in tmux in the lane's worktree",
        [ws, lane],
        ok('TerminalView', '201', 'spawned'),
        body('TerminalSpawnBody'),
      ),
      get: op('terminals.list', 'Terminals of the lane', [ws, lane], list('TerminalView')),
    },
    '/v1/harness/cliproxy/status': {
      get: op('harness.status', 'Harness status and the route sessions get', [], ok('HarnessStatusView')),
    },
    '/v1/harness/cliproxy/check': { post: op('harness.check', 'Check the harness now', [], ok('HarnessStatusView')) },
  };
}
