import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TetherError } from '@tether/contracts';
import type { WebPages } from '@tether/runtime';

/** dist/tether.mjs, the one-file `tether attach` that build.mjs makes beside the CLI's bundle. */
const BUNDLE = fileURLToPath(new URL('../dist/tether.mjs', import.meta.url));

/**
 * GET /tether.mjs, no credential: `tether attach` for any machine with Node, so a link works without installing
 * tether (`curl -fsS <tether>/tether.mjs -o /tmp/tether.mjs && node /tmp/tether.mjs attach '<link>'`). Read per
 * request: a rebuild is served at once.
 */
export function cliBundlePage(pages: WebPages): void {
  pages.get('/tether.mjs', async (_req, reply) => {
    let body: Buffer;
    try {
      body = readFileSync(BUNDLE);
    } catch {
      throw new TetherError(
        'NOT_FOUND',
        `this tether has no tether.mjs to serve (no ${BUNDLE}); build it with \`npm run build:cli\` where tether runs`,
      );
    }
    return reply
      .headers({
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-disposition': 'inline; filename="tether.mjs"',
      })
      .send(body);
  });
}
