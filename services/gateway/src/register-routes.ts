import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpReply, HttpRequest, RouteHandler, Routes, WebPages } from '@tether/runtime';
import { routes } from './route-table.tmp.ts';

export type OperationId = keyof typeof routes;

/** An OpenAPI path (`/v1/shares/{share}`) as Fastify writes it (`/v1/shares/:share`). */
export const fastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/**
 * Registers every handler at its operation's method and path from the route table. A handler for an
 * operation the table does not know is a wiring mistake: refused at start, not served at a guessed path.
 */
export function registerRoutes(app: FastifyInstance, handlers: Routes): void {
  for (const [id, handler] of Object.entries(handlers)) {
    if (!Object.hasOwn(routes, id)) throw new Error(`no route in the route table for operation "${id}"`);
    const { method, path } = routes[id as OperationId];
    app.route({ method, url: fastifyPath(path), handler: adapt(handler) });
  }
}

/** Capabilities' own pages (not part of the API): plain GETs, and WebSocket upgrades nobody else takes. */
export function webPages(app: FastifyInstance): WebPages {
  const upgrades: Array<Parameters<WebPages['upgrade']>[0]> = [];
  app.server.on('upgrade', (req, socket, head) => {
    if (!upgrades.some((take) => take(req, socket, head))) socket.destroy();
  });
  return {
    get: (path, handler) => void app.get(path, adapt(handler)),
    upgrade: (take) => void upgrades.push(take),
  };
}

/** Fastify's request and reply are what handlers see; only the path parameters need their type. */
const adapt =
  (handler: RouteHandler) =>
  (req: FastifyRequest, reply: FastifyReply): unknown =>
    handler(req as FastifyRequest<{ Params: Record<string, string> }> satisfies HttpRequest, reply satisfies HttpReply);
