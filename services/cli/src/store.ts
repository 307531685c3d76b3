import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TetherError } from '@tether/contracts/tether-error';
import type { TetherConfig } from '@tether/contracts';
import { cliConfig } from './cli-config.ts';
import {
  EmbeddedEventStore,
  JetStreamEventStore,
  type EventStore,
  type Logger,
  type NatsCredentials,
} from '@tether/runtime';
import { dataDir } from './data-dir.ts';
import { localNatsCredentials, localNatsUrl, startLocalNats, stopLocalNats } from './local-nats.ts';

export type StoreMode = 'nats-url' | 'child-nats' | 'embedded';

type NatsSettings = Pick<TetherConfig, 'TETHER_NATS_USER' | 'TETHER_NATS_PASSWORD'>;

/** The NATS user of NATS_URL (parseConfig has checked that user and password come together). */
const natsCredentials = (c: NatsSettings): NatsCredentials | undefined =>
  c.TETHER_NATS_USER && c.TETHER_NATS_PASSWORD ? { user: c.TETHER_NATS_USER, pass: c.TETHER_NATS_PASSWORD } : undefined;

/** Which store `tether up` uses: NATS_URL, else a child nats-server if installed, else embedded. */
export async function openStoreForServer(
  log: Logger,
  config: Pick<TetherConfig, 'NATS_URL' | 'TETHER_REPLICAS' | 'TETHER_NO_CHILD_NATS' | 'TETHER_DUPLICATE_WINDOW_MS'> &
    NatsSettings,
): Promise<{ store: EventStore; mode: StoreMode; natsUrl?: string; stop(): Promise<void> }> {
  const url = config.NATS_URL;
  if (url) {
    const credentials = natsCredentials(config);
    const store = await JetStreamEventStore.open(url, {
      name: 'tether-up',
      replicas: config.TETHER_REPLICAS,
      duplicateWindowMs: config.TETHER_DUPLICATE_WINDOW_MS,
      credentials,
    });
    log.info(
      {
        subsystem: 'store',
        store: 'jetstream',
        why: 'NATS_URL is set',
        natsUrl: url,
        natsUser: credentials?.user ?? null,
      },
      `store: JetStream at ${url} (NATS_URL is set)`,
    );
    return { store, mode: 'nats-url', natsUrl: url, stop: () => store.close() };
  }
  const bin = config.TETHER_NO_CHILD_NATS ? undefined : findOnPath('nats-server');
  if (bin) {
    const home = dataDir();
    const child = await startLocalNats(bin, home);
    // The nats-server is this tether's from here on: a failed connect stops it too.
    const store = await JetStreamEventStore.open(child.url, {
      name: 'tether-up',
      duplicateWindowMs: config.TETHER_DUPLICATE_WINDOW_MS,
      credentials: localNatsCredentials(home),
    }).catch(async (err) => {
      await stopLocalNats(home);
      throw err;
    });
    const what = child.reused
      ? 'reusing the local nats-server an earlier tether up started (it outlived a crash of tether; it stops with this one)'
      : 'started a local nats-server under the data folder';
    log.warn(
      {
        subsystem: 'store',
        store: 'jetstream',
        why: 'no NATS_URL; nats-server is installed',
        natsUrl: child.url,
        dataDir: child.dir,
      },
      `store: JetStream on a local nats-server (no NATS_URL: ${what}); for production run a NATS cluster and set NATS_URL`,
    );
    return {
      store,
      mode: 'child-nats',
      natsUrl: child.url,
      stop: async () => {
        await store.close().catch((err) => log.warn({ err: String(err) }, 'closing the store failed'));
        await stopLocalNats(home);
      },
    };
  }
  const dir = join(dataDir(), 'embedded');
  const store = await EmbeddedEventStore.open(dir, {
    logger: log,
    duplicateWindowMs: config.TETHER_DUPLICATE_WINDOW_MS,
  });
  log.warn(
    { subsystem: 'store', store: 'embedded', why: 'no NATS_URL and no nats-server installed', dir },
    'store: embedded, an append-only file under the data folder (no NATS_URL and no nats-server installed; one process, no NATS command bus); for production install nats-server or set NATS_URL',
  );
  return { store, mode: 'embedded', stop: () => store.close() };
}

/** Store for a short CLI command: NATS_URL, else the nats-server `tether up` started, else embedded read-only. */
export async function openStoreForClient(opts: { write?: boolean } = {}): Promise<EventStore> {
  const config = cliConfig();
  const url = config.NATS_URL || localNatsUrl(dataDir());
  if (url)
    return JetStreamEventStore.open(url, {
      name: 'tether-cli',
      timeoutMs: 5_000,
      replicas: config.TETHER_REPLICAS,
      // The local nats-server of `tether up` has one user, whose password is in the data folder.
      credentials: config.NATS_URL ? natsCredentials(config) : localNatsCredentials(dataDir()),
    });
  const dir = join(dataDir(), 'embedded');
  if (!existsSync(dir)) {
    throw new TetherError(
      'UNAVAILABLE',
      `no tether data at ${dataDir()}: start \`tether up\` first, or set NATS_URL (or TETHER_HOME) to where tether runs`,
    );
  }
  return EmbeddedEventStore.open(dir, { readOnly: !opts.write });
}

function findOnPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':')) {
    const p = join(d, name);
    if (d && existsSync(p)) return p;
  }
  return undefined;
}
