import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TetherError } from '@tether/contracts/tether-error';
import type { TetherConfig } from '@tether/contracts';
import { cliConfig } from './cli-config.ts';
import {
  EmbeddedEventStore,
  JetStreamEventStore,
  freePort,
  waitForPort,
  type EventStore,
  type Logger,
} from '@tether/runtime';
import { dataDir } from './data-dir.ts';

export type StoreMode = 'nats-url' | 'child-nats' | 'embedded';

/** Which store `tether up` uses: NATS_URL, else a child nats-server if installed, else embedded. */
export async function openStoreForServer(
  log: Logger,
  config: Pick<TetherConfig, 'NATS_URL' | 'TETHER_REPLICAS' | 'TETHER_NO_CHILD_NATS' | 'TETHER_DUPLICATE_WINDOW_MS'>,
): Promise<{ store: EventStore; mode: StoreMode; natsUrl?: string; stop(): Promise<void> }> {
  const url = config.NATS_URL;
  if (url) {
    const store = await JetStreamEventStore.open(url, {
      name: 'tether-up',
      replicas: config.TETHER_REPLICAS,
      duplicateWindowMs: config.TETHER_DUPLICATE_WINDOW_MS,
    });
    log.info({ store: 'jetstream', natsUrl: url }, 'using NATS from NATS_URL');
    return { store, mode: 'nats-url', natsUrl: url, stop: () => store.close() };
  }
  const bin = config.TETHER_NO_CHILD_NATS ? undefined : findOnPath('nats-server');
  if (bin) {
    const child = await ensureChildNats(bin);
    const store = await JetStreamEventStore.open(child.url, {
      name: 'tether-up',
      duplicateWindowMs: config.TETHER_DUPLICATE_WINDOW_MS,
    });
    const what = child.reused
      ? 'reusing the local nats-server an earlier tether up started (it outlives a crash of tether)'
      : 'started a local nats-server under the data folder';
    log.warn(
      { store: 'jetstream', natsUrl: child.url, dataDir: child.dir },
      `no NATS_URL: ${what}; for production run a NATS cluster and set NATS_URL`,
    );
    return {
      store,
      mode: 'child-nats',
      natsUrl: child.url,
      stop: async () => {
        await store.close();
        await child.stop();
      },
    };
  }
  const dir = join(dataDir(), 'embedded');
  const store = await EmbeddedEventStore.open(dir, {
    logger: log,
    duplicateWindowMs: config.TETHER_DUPLICATE_WINDOW_MS,
  });
  log.warn(
    { store: 'embedded', dir },
    'no NATS_URL and no nats-server installed: using the embedded store (one process, no NATS command bus); for production install nats-server or set NATS_URL',
  );
  return { store, mode: 'embedded', stop: () => store.close() };
}

/** Store for a short CLI command: NATS_URL, else the nats-server `tether up` started, else embedded read-only. */
export async function openStoreForClient(opts: { write?: boolean } = {}): Promise<EventStore> {
  const config = cliConfig();
  const url = config.NATS_URL || readChildUrl();
  if (url)
    return JetStreamEventStore.open(url, { name: 'tether-cli', timeoutMs: 5_000, replicas: config.TETHER_REPLICAS });
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

function readChildUrl(): string | undefined {
  const f = join(dataDir(), 'nats', 'url');
  if (!existsSync(f)) return undefined;
  const [url, pid] = readFileSync(f, 'utf8').trim().split(' ');
  return pid && alive(Number(pid)) ? url : undefined;
}

/** Reuses the child nats-server of an earlier `tether up` if it still runs (it outlives a crash of tether). */
async function ensureChildNats(bin: string) {
  const dir = join(dataDir(), 'nats');
  mkdirSync(dir, { recursive: true });
  const existing = readChildUrl();
  if (existing) return { url: existing, dir, reused: true, stop: async () => undefined };
  const port = await freePort();
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'jetstream')], {
    stdio: 'ignore',
    detached: true,
    env: { ...process.env, TETHER_OWNER: `tether-up-${process.pid}` },
  });
  child.unref();
  const url = `nats://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'url'), `${url} ${child.pid}\n`);
  await waitForPort(port).catch(() => {
    throw new TetherError('UNAVAILABLE', `the local nats-server did not open port ${port}; check ${dir}`);
  });
  return {
    url,
    dir,
    reused: false,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
