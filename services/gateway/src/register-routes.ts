import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpReply, HttpRequest, RouteHandler, Routes, WebPages } from '@tether/runtime';
import { BODY_IDS, routerPath, routes, takesIds, type OperationId, type RouteSpec } from '@tether/contracts';

/**
 * Registers every handler at its operation's method and path from the route table. A handler for an
 * operation the table does not know is a wiring mistake: refused at start, not served at a guessed path.
 */
export function registerRoutes(
  app: FastifyInstance,
  handlers: Routes,
  authenticate: (req: HttpRequest & { method: string }) => Promise<void>,
  resolveIds?: (
    params: Record<string, string>,
    principal: HttpRequest['principal'],
    body?: { value: unknown; fields: Readonly<Record<string, string>> },
  ) => Promise<void>,
): OperationId[] {
  const ids = Object.keys(handlers) as OperationId[];
  for (const id of ids) {
    if (!Object.hasOwn(routes, id)) throw new Error(`no route in the route table for operation "${id}"`);
    const spec: RouteSpec = routes[id];
    // Every operation needs a credential but the table's public ones (health, the document).
    const onRequest = spec.public ? undefined : (req: FastifyRequest) => authenticate(req as never);
    // Once the caller is known, id prefixes in the path become whole ids (id-prefixes.ts), for every handler alike.
    const fields = BODY_IDS[id];
    const preHandler =
      resolveIds && ((spec.params && takesIds(Object.keys(spec.params.shape))) || fields)
        ? (req: FastifyRequest) =>
            resolveIds(
              req.params as Record<string, string>,
              (req as HttpRequest).principal,
              fields && { value: req.body, fields },
            )
        : undefined;
    app.route({
      method: spec.method,
      url: routerPath(spec.path),
      onRequest,
      preHandler,
      handler: adapt(handlers[id]!),
    });
  }
  return ids;
}

/** Operations of the route table nobody serves: a full tether serves them all, or it does not start. */
export function unserved(served: OperationId[]): OperationId[] {
  return (Object.keys(routes) as OperationId[]).filter((id) => !served.includes(id));
}

/** Capabilities' own pages (not part of the API): plain GETs, and WebSocket upgrades nobody else takes. */
export function webPages(app: FastifyInstance): WebPages {
  const upgrades: Array<Parameters<WebPages['upgrade']>[0]> = [];
  app.server.on('upgrade', (req, socket, head) => {
    if (!upgrades.some((take) => take(req, socket, head))) socket.destroy();
  });
  return {
    get: (path, handler) => void app.get(path, adapt(handler)),
    post: (path, handler) => void app.post(path, adapt(handler)),
    upgrade: (take) => void upgrades.push(take),
  };
}

/** Fastify's request and reply are what handlers see; only the path parameters need their type. */
const adapt =
  (handler: RouteHandler) =>
  (req: FastifyRequest, reply: FastifyReply): unknown =>
    handler(req as FastifyRequest<{ Params: Record<string, string> }> satisfies HttpRequest, reply satisfies HttpReply);
