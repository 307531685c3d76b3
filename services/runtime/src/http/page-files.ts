import { readFileSync } from 'node:fs';
import type { HttpReply, WebPages } from '../capability.ts';

/** Content types of the files tether's own pages are made of. */
export const PAGE_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** A page of tether's (a viewer, a player): never cached, no referrer, and only what `csp` lets it load. */
export function sendPage(reply: HttpReply, file: string, csp: string): HttpReply {
  return reply
    .headers({
      'content-type': PAGE_TYPES.html!,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'content-security-policy': csp,
    })
    .send(readFileSync(file));
}

/**
 * Serves `route` (e.g. "/viewer/:file") from an allow-list of files by the name a page asks for: no path
 * from the request reaches the disk; a name not listed is not found.
 */
export function servePageFiles(app: WebPages, route: string, files: ReadonlyMap<string, string>): void {
  app.get(route, async (req, reply) => {
    const name = req.params.file!;
    const path = files.get(name);
    if (!path) return reply.callNotFound();
    return reply
      .type(PAGE_TYPES[name.slice(name.lastIndexOf('.') + 1)]!)
      .header('x-content-type-options', 'nosniff')
      .send(readFileSync(path));
  });
}
