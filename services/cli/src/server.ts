import { registry } from '@tether/machines';
import {
  ActorHost,
  Dispatcher,
  JetStreamEventStore,
  TimerService,
  composeCapabilities,
  serveCommands,
  toRejection,
  type ApplicationCommand,
  type CapabilityDeps,
  type EventStore,
  type Logger,
  type Precondition,
} from '@tether/runtime';
import { ProjectionRunner, projections, startAuditTrail } from '@tether/projector';
import { buildGateway } from '@tether/gateway';
import { openApiDocument } from '@tether/contracts/openapi';
import { parseConfig, type TetherConfig } from '@tether/contracts';
import { startControlPlane } from '@tether/workers';
import { startSharing } from '@tether/sharing';

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
  /** The parsed settings; parsed from `env` (default process.env) when absent. */
  config?: TetherConfig;
  env?: NodeJS.ProcessEnv;
}

/**
 * Everything `tether up` runs in one process: the actor host with the capabilities' commands and gates
 * (audit trail, control plane, sharing), the command bus, projections, timers, the capabilities'
 * reactors, then the gateway. Stopped in reverse.
 */
export async function startServer(opts: ServerOptions) {
  const { store, logger } = opts;
  // Filled by the capabilities before any command can arrive (composeCapabilities).
  const preconditions: Record<string, Precondition> = {};
  const commands: Record<string, ApplicationCommand> = {};
  const host = new ActorHost({ store, registry, logger, snapshotEvery: opts.snapshotEvery ?? 100, preconditions });
  const dispatcher = new Dispatcher(host, commands);
  const nc = store instanceof JetStreamEventStore ? store.nc : undefined;
  let baseUrl = '';
  const deps: CapabilityDeps = {
    host,
    dispatcher,
    send: (cmd) => dispatcher.dispatch(cmd),
    store,
    logger,
    nc,
    home: opts.home,
    ownerId: opts.ownerId ?? `tether-${process.pid}`,
    config: opts.config ?? parseConfig(opts.env ?? process.env).config,
    baseUrl: () => baseUrl,
  };
  const audit = await startAuditTrail(deps);
  const controlPlane = await startControlPlane(deps);
  const sharing = await startSharing({ ...deps, terminals: controlPlane.terminals });
  const capabilities = composeCapabilities([audit, controlPlane, sharing], { commands, preconditions });

  const bus = nc ? serveCommands(nc, dispatcher, { logger }) : undefined;
  const runners = Object.values(projections(registry)).map((p) => new ProjectionRunner(store, p, { logger }));
  await Promise.all(runners.map((r) => r.start()));
  const timers = new TimerService({ store, registry, logger, send: (cmd) => host.execute(cmd).catch(toRejection) });
  await timers.start();
  // In order: the terminals start before the share runner, which reattaches relays to them.
  await capabilities.start();

  const app = buildGateway({
    host,
    dispatcher,
    store,
    logger,
    projections: runners as ProjectionRunner<unknown>[],
    gauges: () => ({ tether_timers_armed: timers.pending }),
    openapi: openApiDocument(),
    routes: capabilities.routes,
    pages: capabilities.pages,
    everyRoute: true,
  });
  await app.listen({ port: opts.port, host: opts.bind ?? '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  baseUrl = `http://${opts.bind ?? '127.0.0.1'}:${port}`;
  return {
    url: baseUrl,
    host,
    relays: sharing.relays,
    natsBus: !!bus,
    async stop() {
      await app.close();
      await bus?.stop();
      await capabilities.stop();
      await timers.stop();
      await Promise.all(runners.map((r) => r.stop()));
    },
  };
}
