import { join } from 'node:path';
import { registry } from '@tether/machines';
import { ActorHost, Dispatcher, JetStreamEventStore, TimerService, serveCommands, toRejection, type EventStore, type Logger } from '@tether/runtime';
import { ProjectionRunner, projections } from '@tether/projector';
import { buildGateway } from '@tether/gateway';
import { openApiDocument } from '@tether/contracts/openapi';
import {
  HarnessMonitor,
  LaneWorker,
  LocalTerminalIO,
  NatsTerminalIO,
  SessionReaper,
  TerminalWorker,
  Workspaces,
  canSpawnTerminal,
  ensureSession,
} from '@tether/workers';

export interface ServerOptions {
  store: EventStore;
  logger: Logger;
  port: number;
  bind?: string;
  snapshotEvery?: number;
  /** Data folder: worktrees, tmux socket, terminal logs. */
  home: string;
  /** Marks the processes this tether starts (TETHER_OWNER). */
  ownerId?: string;
  env?: NodeJS.ProcessEnv;
}

/** Everything `tether up` runs in one process: actor host, command bus, projections, timers, workers, gateway. */
export async function startServer(opts: ServerOptions) {
  const { store, logger } = opts;
  const env = opts.env ?? process.env;
  const workspaces = new Workspaces(env.TETHER_WORKSPACES, process.cwd(), join(opts.home, 'worktrees'));
  const host = new ActorHost({
    store,
    registry,
    logger,
    snapshotEvery: opts.snapshotEvery ?? 100,
    preconditions: {
      'terminal.spawn': canSpawnTerminal,
      'lane.create': async (cmd) => void workspaces.get((cmd.data as { workspaceId: string }).workspaceId),
    },
  });
  const dispatcher = new Dispatcher(host, { 'session.ensure': ensureSession(host, { heartbeatTimeoutMs: Number(env.TETHER_SESSION_HEARTBEAT_MS ?? 60_000) }) });
  const send = (cmd: Parameters<Dispatcher['dispatch']>[0]) => dispatcher.dispatch(cmd);
  const nc = store instanceof JetStreamEventStore ? store.nc : undefined;
  const bus = nc ? serveCommands(nc, dispatcher, { logger }) : undefined;

  const runners = Object.values(projections(registry)).map((p) => new ProjectionRunner(store, p, { logger }));
  await Promise.all(runners.map((r) => r.start()));
  const timers = new TimerService({ store, registry, logger, send: (cmd) => host.execute(cmd).catch(toRejection) });
  await timers.start();

  const ownerId = opts.ownerId ?? `tether-${process.pid}`;
  const lanes = new LaneWorker(store, send, workspaces, logger);
  const reaper = new SessionReaper(store, host, send, logger);
  const terminals = new TerminalWorker(store, host, send, nc ? new NatsTerminalIO(nc) : new LocalTerminalIO(), logger, {
    dir: join(opts.home, 'terminals'),
    ownerId,
    maxBytesPerSec: Number(env.TETHER_TERMINAL_MAX_BPS ?? 2_000_000),
  });
  const harness = new HarnessMonitor(host, send, logger, {
    url: env.TETHER_HARNESS_URL || null,
    healthUrl: env.TETHER_HARNESS_HEALTH_URL || undefined,
    everyMs: Number(env.TETHER_HARNESS_CHECK_MS ?? 5_000),
    slowMs: Number(env.TETHER_HARNESS_SLOW_MS ?? 2_000),
    cooldownMs: Number(env.TETHER_HARNESS_COOLDOWN_MS ?? 10_000),
  });
  await Promise.all([lanes.start(), reaper.start(), terminals.start()]);
  await harness.start();

  const app = buildGateway({
    host,
    dispatcher,
    store,
    logger,
    projections: runners as ProjectionRunner<unknown>[],
    gauges: () => ({ tether_timers_armed: timers.pending }),
    openapi: openApiDocument(),
    controlPlane: { workspaces, checkHarness: env.TETHER_HARNESS_URL ? () => harness.checkNow() : undefined },
  });
  await app.listen({ port: opts.port, host: opts.bind ?? '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://${opts.bind ?? '127.0.0.1'}:${port}`,
    host,
    natsBus: !!bus,
    async stop() {
      await app.close();
      await bus?.stop();
      harness.stop();
      await Promise.all([lanes.stop(), reaper.stop(), terminals.stop()]);
      await timers.stop();
      await Promise.all(runners.map((r) => r.stop()));
    },
  };
}
