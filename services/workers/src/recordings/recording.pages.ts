import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TetherError, Token } from '@tether/contracts';
import { sendPage, servePageFiles, type WebPages } from '@tether/runtime';

const pageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'player');
// …/asciinema-player/dist/index.js → …/dist/bundle
const bundle = join(dirname(fileURLToPath(import.meta.resolve('asciinema-player'))), 'bundle');

/** Every file the player page may load, by the name it asks for (no path from the request reaches the disk). */
const FILES = new Map(
  Object.entries({
    'player.js': join(pageDir, 'player.js'),
    'player.css': join(pageDir, 'player.css'),
    'asciinema-player.min.js': join(bundle, 'asciinema-player.min.js'),
    'asciinema-player.css': join(bundle, 'asciinema-player.css'),
  }),
);

/**
 * The recording player: `/recordings/<terminal or task run>` plays GET /v1/recordings/<id> in
 * asciinema-player, as the dashboard's signed-in session (the page itself holds nothing secret).
 */
export function recordingPages(app: WebPages) {
  app.get('/recordings/:terminal', async (req, reply) => {
    const id = req.params.terminal!;
    if (!Token.safeParse(id).success)
      throw new TetherError(
        'NOT_FOUND',
        `no recording page for "${id.slice(0, 64)}": name a terminal or task run id (letters, digits, "_" or "-")`,
      );
    // The player styles its DOM inline and runs its terminal emulator as WebAssembly; nothing from elsewhere.
    return sendPage(
      reply,
      join(pageDir, 'index.html'),
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
  });
  servePageFiles(app, '/player/:file', FILES);
}
