import { registry } from '@tether/machines';
import {
  ActorHost,
  CommandLedger,
  Dispatcher,
  JetStreamEventStore,
  TimerService,
  composeCapabilities,
  serveCommands,
  systemClock,
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
import { parseConfig, TetherError, type TetherConfig } from '@tether/contracts';
import { startControlPlane } from '@tether/workers';
import { startHandoff, startSharing } from '@tether/sharing';

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
 * (audit trail, control plane, sharing, handoff), the command bus, projections, timers, the capabilities'
 * reactors, then the gateway. Stopped in reverse.
 */
export async function startServer(opts: ServerOptions) {
  const { store, logger } = opts;
  // Filled by the capabilities before any command can arrive (composeCapabilities).
  const preconditions: Record<string, Precondition> = {};
  const commands: Record<string, ApplicationCommand> = {};
  const config = opts.config ?? parseConfig(opts.env ?? process.env).config;
  const retentionMs = config.TETHER_COMMAND_RETENTION_MS;
  const host = new ActorHost({
    store,
    registry,
    logger,
    snapshotEvery: opts.snapshotEvery ?? 100,
    preconditions,
    commandRetentionMs: retentionMs,
  });
  const ledger = new CommandLedger({ store, clock: systemClock, log: logger, retentionMs });
  const dispatcher = new Dispatcher(host, commands, ledger);
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
    config,
    baseUrl: () => baseUrl,
  };
  const audit = await startAuditTrail(deps);
  const controlPlane = await startControlPlane(deps);
  const sharing = await startSharing({ ...deps, terminals: controlPlane.terminals });
  const handoff = await startHandoff({
    ...deps,
    terminals: controlPlane.terminals,
    gate: sharing.gate,
    secrets: sharing.secrets,
  });
  const capabilities = composeCapabilities([audit, controlPlane, sharing, handoff], { commands, preconditions });

  const bus = nc ? serveCommands(nc, dispatcher, { logger }) : undefined;
  const runners = Object.values(projections(registry)).map((p) => new ProjectionRunner(store, p, { logger }));
  const timers = new TimerService({ store, registry, logger, send: (cmd) => host.execute(cmd).catch(toRejection) });
  let app: ReturnType<typeof buildGateway> | undefined;
  // Everything started so far, stopped in reverse: on a failed start too, so a busy port ends the process.
  const stopAll = async () => {
    // The gateway stops listening and refuses new requests at once, but its close waits for every open
    // socket: the capabilities end theirs first (sharing tells its viewers tether is stopping), then
    // whatever is still open (a dashboard's /v1/stream) is cut.
    const closing = app?.close();
    await bus?.stop();
    await capabilities.stop();
    app?.server.closeAllConnections();
    await closing;
    await timers.stop();
    await Promise.all(runners.map((r) => r.stop()));
  };
  try {
    await Promise.all(runners.map((r) => r.start()));
    await timers.start();
    // Capability by capability: the control plane's terminals start before sharing reattaches relays to them.
    await capabilities.start();
    ({ app } = await listen(opts, {
      host,
      dispatcher,
      store,
      logger,
      projections: runners as ProjectionRunner<unknown>[],
      gauges: () => ({ tether_timers_armed: timers.pending }),
      openapi: lazyOpenApi, // built from the zod contracts when first asked for: a third of the start's CPU
      routes: capabilities.routes,
      pages: capabilities.pages,
      everyRoute: true,
    }));
  } catch (err) {
    await stopAll().catch((e) => logger.error({ err: String(e) }, 'stopping after a failed start failed'));
    throw err;
  }
  const { port } = app!.server.address() as { port: number };
  baseUrl = `http://${opts.bind ?? '127.0.0.1'}:${port}`;
  return { url: baseUrl, host, relays: sharing.relays, natsBus: !!bus, stop: stopAll };
}

let openApi: ReturnType<typeof openApiDocument> | undefined;
const lazyOpenApi = () => {
  openApi ??= openApiDocument();
  return openApi;
};

/** Builds the gateway and listens; a port or address it cannot have is a TetherError with what to do, not an internal error. */
async function listen(opts: ServerOptions, gateway: Parameters<typeof buildGateway>[0]) {
  const app = buildGateway(gateway);
  const host = opts.bind ?? '127.0.0.1';
  try {
    await app.listen({ port: opts.port, host });
  } catch (err) {
    await app.close();
    throw listenError(err as NodeJS.ErrnoException, opts.port, host);
  }
  return { app }; // wrapped: a Fastify instance is thenable, and awaiting it would mean something else
}

function listenError(err: NodeJS.ErrnoException, port: number, host: string): unknown {
  switch (err.code) {
    case 'EADDRINUSE':
      return new TetherError(
        'UNAVAILABLE',
        `port ${port} on ${host} is in use (another tether?); stop it (\`tether down\`), or pick another with --port or TETHER_PORT`,
      );
    case 'EACCES':
      return new TetherError(
        'UNAVAILABLE',
        `port ${port} on ${host} needs privileges tether does not have; pick a port above 1023 with --port or TETHER_PORT`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TetherError(
        'INVALID_COMMAND',
        `--bind ${JSON.stringify(host)} is not an address of this machine; give one it has, e.g. 127.0.0.1 or 0.0.0.0`,
      );
    default:
      return err;
  }
}
