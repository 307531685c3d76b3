import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const here = dirname(fileURLToPath(import.meta.url));
const pageDir = join(here, '..', 'dashboard');
const storeDir = dirname(fileURLToPath(import.meta.resolve('@xstate/store')));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The dashboard: a static page plus @xstate/store's ES modules, straight from disk (no build step), and the favicon. */
export function dashboardRoutes(app: FastifyInstance) {
  const send = (dir: string, file: string) => {
    if (!/^[\w.-]+\.(js|css|html)$/.test(file)) return undefined;
    try {
      return { body: readFileSync(join(dir, file)), type: TYPES[file.slice(file.lastIndexOf('.'))]! };
    } catch {
      return undefined;
    }
  };
  app.get('/', async (_req, reply) => reply.type(TYPES['.html']!).send(readFileSync(join(pageDir, 'index.html'))));
  // Every page of tether links it (dashboard, sign-in, share viewer, recording player).
  const favicon = readFileSync(join(pageDir, 'favicon.svg'));
  app.get('/favicon.svg', async (_req, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(favicon),
  );
  app.get<{ Params: { file: string } }>('/dashboard/:file', async (req, reply) => {
    const f = send(pageDir, req.params.file);
    return f ? reply.type(f.type).send(f.body) : reply.callNotFound();
  });
  app.get<{ Params: { file: string } }>('/assets/xstate-store/:file', async (req, reply) => {
    const f = send(storeDir, req.params.file);
    return f ? reply.type(f.type).send(f.body) : reply.callNotFound();
  });
}
