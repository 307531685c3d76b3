import { parseConfig, TetherError } from '@tether/contracts';
import { createLogger } from '@tether/runtime';
import { startServer } from '../server.ts';
import { dataDir } from '../data-dir.ts';
import { openStoreForServer } from '../store.ts';
import type { Out } from '../output.ts';

/** --port as given on the command line: a whole number from 0 to 65535. */
function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535)
    throw new TetherError(
      'INVALID_COMMAND',
      `--port ${JSON.stringify(text)} is not a port; give a number from 0 to 65535`,
    );
  return port;
}

export async function up(out: Out, flags: { port?: string; bind?: string }): Promise<number> {
  // Every setting is parsed once, here: a bad value stops the start before anything is opened.
  const { config } = parseConfig(process.env);
  const log = createLogger('tether', config.TETHER_LOG_LEVEL);
  const port = flags.port === undefined ? config.TETHER_PORT : parsePort(flags.port);
  const { store, mode, natsUrl, stop: stopStore } = await openStoreForServer(log, config);
  // A failed start has stopped what it started; the store goes too, so the process ends with the error.
  const server = await startServer({ store, logger: log, config, port, bind: flags.bind, home: dataDir() }).catch(
    async (err) => {
      await stopStore();
      throw err;
    },
  );
  out.print(
    [
      `tether is up`,
      `  dashboard  ${server.url}/`,
      `  api        ${server.url}  (OpenAPI at ${server.url}/openapi.json, metrics at ${server.url}/metrics)`,
      `  store      ${mode === 'embedded' ? 'embedded (single process)' : `JetStream at ${natsUrl}`}`,
      `  commands   ${server.natsBus ? 'NATS tether.cmd.<entity>.<verb> and ' : ''}POST ${server.url}/v1/commands/<entity>/<verb>`,
      `  try        curl -s -XPOST ${server.url}/v1/commands/lease/create -H 'content-type: application/json' -d '{"data":{"holder":"me"}}'`,
    ].join('\n'),
    { ok: true, url: server.url, dashboard: `${server.url}/`, store: mode, natsUrl: natsUrl ?? null, pid: process.pid },
  );
  await new Promise<void>((resolve) => {
    const shutdown = (sig: string) => {
      log.info({ signal: sig }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  // A clean stop lets in-flight work finish; if something hangs, exit anyway rather than linger.
  const hard = setTimeout(() => {
    log.error('shutdown took over 10 s; exiting');
    process.exit(1);
  }, 10_000);
  hard.unref();
  await server.stop();
  await stopStore();
  return 0;
}
