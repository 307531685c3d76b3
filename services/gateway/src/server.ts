import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyReply } from 'fastify';
import {
  BODY_LIMIT_BYTES,
  HTTP_STATUS,
  ReplayQuery,
  TetherError,
  Token,
  assertAllowed,
  parseData,
  redact,
  type CommandReply,
} from '@tether/contracts';
import {
  listActors,
  givenParams,
  principalOf,
  replaySteps,
  toCommand,
  toRejection,
  uuid,
  type ActorHost,
  type Authenticator,
  type Dispatcher,
  type HttpRequest,
  type EventStore,
  type Logger,
  type Routes,
  type WebPages,
} from '@tether/runtime';
import type { ProjectionRunner } from '@tether/projector';
import { renderMetrics } from './metrics.ts';
import { dashboardRoutes } from './dashboard.routes.ts';
import { readable, readableEvent } from './readable.ts';
import { streamHandler } from './stream.routes.ts';
import { registerRoutes, unserved, webPages } from './register-routes.ts';
import { httpAuthentication } from './identity/http-auth.ts';
import { idPrefixes } from './id-prefixes.ts';

export interface GatewayOptions {
  host: ActorHost;
  dispatcher: Dispatcher;
  store: EventStore;
  logger: Logger;
  projections?: ProjectionRunner<unknown>[];
  /** Extra gauges for /metrics (e.g. armed timers). */
  gauges?: () => Record<string, number>;
  /** The OpenAPI document, or a function that builds it (on the first GET /openapi.json, not at start). */
  openapi: unknown;
  /** The capabilities' HTTP handlers, by operation id (lanes.create, shares.get, audit.list, …). */
  routes?: Routes;
  /** The capabilities' own pages (the share viewer and its WebSocket). */
  pages?: Array<(pages: WebPages) => void>;
  /** Refuse to build unless every operation of the route table is served (a full tether; a bare runtime serves less). */
  everyRoute?: boolean;
  /** Proves who each API request comes from (every route but the public ones needs a credential). */
  authenticator: Authenticator;
  /** The live stream's snapshot leaves out actors that ended longer ago than this (default 1 h). */
  streamEndedWindowMs?: number;
  /** PEM certificate and key: the gateway serves https. */
  tls?: { cert: Buffer; key: Buffer };
}

/** The HTTP face of the command bus: same commands, same replies, status codes from the error code. */
export function buildGateway(opts: GatewayOptions) {
  const app = Fastify({
    ...(opts.tls ? { https: opts.tls } : {}),
    loggerInstance: opts.logger as FastifyBaseLogger,
    genReqId: (req) => (req.headers['x-correlation-id'] as string | undefined) ?? uuid(),
    // Entity ids are up to 128 chars (Token); the default 100 would refuse valid ids. Longer segments,
    // and malformed %-escapes, are answered by frameworkErrors in the contract's shape.
    routerOptions: { maxParamLength: 256 },
    // The documented limit (413 above it), from the route table.
    bodyLimit: BODY_LIMIT_BYTES,
    frameworkErrors: (err, _req, reply) => {
      const what =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'a path segment is longer than 256 characters'
          : 'the URL has a malformed %-escape';
      return (reply as FastifyReply)
        .status(400)
        .send(toRejection(new TetherError('INVALID_COMMAND', `invalid request: ${what}`)));
    },
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    // Body parsing failures (malformed JSON, wrong content type, too large) are the caller's to fix.
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply
        .status(err.statusCode === 413 ? 413 : 400)
        .send(toRejection(new TetherError('INVALID_COMMAND', `invalid request: ${err.message}`)));
    }
    const body = toRejection(err);
    if (body.error.code === 'INTERNAL') req.log.error({ err: String(err), correlationId: req.id }, 'request failed');
    if (body.error.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="tether"');
    return reply.status(HTTP_STATUS[body.error.code]).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send(toRejection(new TetherError('NOT_FOUND', `no route ${req.method} ${req.url}; see /openapi.json`))),
  );

  const authenticate = httpAuthentication(opts.authenticator);
  const resolveIds = idPrefixes(opts.store);
  const served = [
    ...registerRoutes(app, gatewayRoutes(opts), authenticate, resolveIds),
    ...registerRoutes(app, opts.routes ?? {}, authenticate, resolveIds), // an operation served twice fails here (Fastify refuses a duplicate route)
  ];
  const missing = unserved(served);
  if (opts.everyRoute && missing.length > 0)
    throw new Error(`the route table has operations nobody serves: ${missing.join(', ')}`);
  dashboardRoutes(app);
  const pages = webPages(app);
  for (const add of opts.pages ?? []) add(pages);
  return app;
}

/** Reads are open to every credential, but credentials' are operators' (GET /v1/credentials shows anyone their own). */
const mayRead = (req: HttpRequest, entity: string) => {
  if (entity === 'credential') assertAllowed({ principal: principalOf(req), entity, verb: 'read' });
};

/** Unknown entity → UNKNOWN_COMMAND; an id that cannot be an entity id → INVALID_COMMAND (not a 500 from the store). */
function entityParams(host: ActorHost, params: Record<string, string>) {
  const p = params as { entity: string; entityId: string };
  host.definition(p.entity);
  const id = Token.safeParse(p.entityId);
  if (!id.success)
    throw new TetherError(
      'INVALID_COMMAND',
      `invalid request: "${p.entityId.slice(0, 64)}" is not a ${p.entity} id: ${id.error.issues[0]?.message}`,
    );
  return p;
}

function idempotencyKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers['idempotency-key'];
  return Array.isArray(v) ? v[0] : v;
}

/** The gateway's own operations: commands, entities, projections, metrics, health, the document, the stream. */
function gatewayRoutes(opts: GatewayOptions): Routes {
  return {
    command: async (req, reply) => {
      const body = req.body ?? {};
      const withHeaders =
        body && typeof body === 'object' && !Array.isArray(body)
          ? {
              ...(idempotencyKey(req.headers) ? { id: idempotencyKey(req.headers) } : {}),
              ...(req.headers['x-correlation-id'] ? { correlationId: req.headers['x-correlation-id'] } : {}),
              ...body,
            }
          : body;
      const cmd = toCommand(req.params.entity!, req.params.verb!, withHeaders, uuid, principalOf(req));
      const accepted: CommandReply = await opts.dispatcher.accept(cmd);
      req.log.info(
        {
          correlationId: accepted.correlationId,
          entity: cmd.entity,
          verb: cmd.verb,
          entityId: accepted.entityId,
          seq: accepted.seq,
        },
        'command accepted',
      );
      // A resend (duplicate: true) answers the original status: 201 again where the verb creates.
      const created =
        !opts.dispatcher.isApplication(cmd.entity, cmd.verb) && opts.host.verbContract(cmd.entity, cmd.verb)?.creates;
      return reply.status(created ? 201 : 200).send(accepted);
    },

    'entity.get': async (req) => {
      const p = entityParams(opts.host, req.params);
      mayRead(req, p.entity);
      const state = await opts.host.state(p.entity, p.entityId);
      if (!state) throw new TetherError('NOT_FOUND', `${p.entity} ${p.entityId} does not exist`);
      return readable(state);
    },

    'entity.events': async (req) => {
      const p = entityParams(opts.host, req.params);
      mayRead(req, p.entity);
      const events = await opts.store.readEntity(p.entity, p.entityId);
      if (events.length === 0) throw new TetherError('NOT_FOUND', `${p.entity} ${p.entityId} has no events`);
      return events.map(readableEvent);
    },

    'entity.replay': async (req) => {
      const p = entityParams(opts.host, req.params);
      mayRead(req, p.entity);
      const q = parseData(ReplayQuery, 'replay query', givenParams(req.query));
      const events = await opts.store.readEntity(p.entity, p.entityId);
      if (events.length === 0) throw new TetherError('NOT_FOUND', `${p.entity} ${p.entityId} has no events`);
      const steps = replaySteps(opts.host.definition(p.entity), events, q.to_seq).map((st) => ({
        ...st,
        data: redact(st.data) as Record<string, unknown>,
        // What every read leaves out (token hashes, sealed links), then whatever else looks secret.
        context: redact(
          readable({ ...p, version: st.seq, streamSeq: st.streamSeq, value: st.state, context: st.context }).context,
        ) as Record<string, unknown>,
      }));
      return { entity: p.entity, entityId: p.entityId, total: events.length, steps };
    },

    'entity.list': async (req) => {
      const entity = req.params.entity!;
      opts.host.definition(entity);
      mayRead(req, entity);
      return { items: (await listActors(opts.store, entity)).map(readable) };
    },

    'projections.list': async () => ({
      items: await Promise.all(
        (opts.projections ?? []).map(async (p) => ({
          name: p.projection.name,
          bucket: p.projection.bucket,
          lag: await p.lag(),
        })),
      ),
    }),

    metrics: async (_req, reply) => {
      const text = await renderMetrics(opts.store, opts.projections ?? [], opts.gauges?.() ?? {});
      return reply.type('text/plain; version=0.0.4').send(text);
    },

    healthz: async () => ({ ok: true, store: opts.store.kind }),
    openapi: async () => (typeof opts.openapi === 'function' ? opts.openapi() : opts.openapi),
    stream: streamHandler(opts.store, { endedWindowMs: opts.streamEndedWindowMs ?? 3_600_000 }),
  };
}
