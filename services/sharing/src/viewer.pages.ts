import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TetherError } from '@tether/contracts';
import { sendPage, servePageFiles, type WebPages } from '@tether/runtime';
import type { NativeRelays } from './native-relay.ts';

const here = dirname(fileURLToPath(import.meta.url));
const pageDir = join(here, '..', 'viewer');
const xtermLib = dirname(fileURLToPath(import.meta.resolve('@xterm/xterm'))); // …/@xterm/xterm/lib
const fitLib = dirname(fileURLToPath(import.meta.resolve('@xterm/addon-fit'))); // …/@xterm/addon-fit/lib

/** Every file the viewer page may load, by the name it asks for (no path from the request reaches the disk). */
const FILES = new Map(
  Object.entries({
    'viewer.js': join(pageDir, 'viewer.js'),
    'viewer.css': join(pageDir, 'viewer.css'),
    'xterm.js': join(xtermLib, 'xterm.js'),
    'xterm.css': join(xtermLib, '..', 'css', 'xterm.css'),
    'addon-fit.js': join(fitLib, 'addon-fit.js'),
  }),
);
const SHARE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The share viewer: `/v/<share>#t=<token>` is a participant's link. The token stays in the fragment,
 * which browsers never send; the page reads it and hands it to the share WebSocket in its hello.
 */
export function viewerPages(app: WebPages, relays: NativeRelays) {
  const assets = servePageFiles(app, '/viewer/:file', FILES);
  app.get('/v/:share', async (req, reply) => {
    const share = req.params.share!;
    if (!SHARE_ID.test(share))
      throw new TetherError(
        'NOT_FOUND',
        `no share page for "${share.slice(0, 64)}": a share id is 1-128 letters, digits, "_" or "-"`,
      );
    // xterm.js styles its DOM renderer inline; nothing else but this origin (and its WebSocket); framed only by
    // tether's own pages (the dashboard's task-run card).
    return sendPage(
      reply,
      join(pageDir, 'index.html'),
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
      assets,
    );
  });

  // Viewers: the WebSocket of a share (token in the first message, never in the URL or a log).
  app.upgrade((req, socket, head) => {
    const m = /^\/v1\/shares\/([A-Za-z0-9_-]{1,128})\/ws(?:\?.*)?$/.exec(req.url ?? '');
    if (!m) return false;
    relays.handleUpgrade(req, socket, head, m[1]!);
    return true;
  });
}
