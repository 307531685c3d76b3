import { readFileSync } from 'node:fs';
import { registry } from '@tether/machines';
import {
  ActorHost,
  Authenticator,
  CommandLedger,
  CorrelationOrigins,
  Dispatcher,
  JetStreamEventStore,
  loadInstallation,
  procStat,
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
import { buildGateway, commandAs, ensureOwnerCredential, loginLink, startIdentity } from '@tether/gateway';
import { openApiDocument } from '@tether/contracts/openapi';
import { parseConfig, TetherError, type TetherConfig } from '@tether/contracts';
import { startControlPlane, startRecordings, startRecovery, startTaskRuns } from '@tether/workers';
import type { ActorOf } from '@tether/projector';
import { cliBundlePage } from './cli-bundle.page.ts';
import { startHandoff, startLiveSessions, startSharing } from '@tether/sharing';

type RecoveryRun = ActorOf<'recovery'>;

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
  /** Told at each stage of this start's recovery run (`tether up` prints a line). */
  onRecoveryStep?: (run: RecoveryRun) => void;
  /** Processes the orphan scan must leave alone besides this one and its ancestors (the local nats-server). */
  protectedPids?: () => number[];
  /** Who the owner's credential ($TETHER_HOME/credential) is issued to on first start (default $USER). */
  owner?: string;
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
  // Marks every process this tether starts; the recovery finds its predecessors' processes by it.
  const installationId = opts.ownerId ?? loadInstallation(opts.home).id;
  let baseUrl = '';
  const deps: CapabilityDeps = {
    host,
    dispatcher,
    send: (cmd) => dispatcher.dispatch(cmd),
    store,
    logger,
    nc,
    home: opts.home,
    ownerId: installationId,
    config,
    baseUrl: () => baseUrl,
  };
  const authenticator = new Authenticator(host);
  const owner = await ensureOwnerCredential(host, authenticator, {
    home: opts.home,
    user: opts.owner ?? process.env.USER ?? 'owner',
    logger,
  });
  const identity = startIdentity({ ...deps, authenticator });
  const audit = await startAuditTrail(deps);
  const controlPlane = await startControlPlane(deps);
  const taskRuns = await startTaskRuns({ ...deps, controlPlane });
  const sharing = await startSharing({ ...deps, terminals: controlPlane.terminals });
  const handoff = await startHandoff({
    ...deps,
    terminals: controlPlane.terminals,
    gate: sharing.gate,
    secrets: sharing.secrets,
  });
  const live = await startLiveSessions({
    ...deps,
    terminals: controlPlane.terminals,
    gate: sharing.gate,
    secrets: sharing.secrets,
  });
  const recordings = await startRecordings({ ...deps, terminals: controlPlane.terminals });
  const runners = Object.values(projections(registry)).map((p) => new ProjectionRunner(store, p, { logger }));
  const recovery = await startRecovery({
    ...deps,
    terminals: controlPlane.terminalWorker,
    lanes: controlPlane.laneWorker,
    workspaces: controlPlane.workspaces,
    secrets: sharing.secrets,
    installationId,
    caughtUp: () => Promise.all(runners.map((r) => r.waitCaughtUp(5_000))).then(() => undefined),
    protectedPids: () => [process.pid, ...ancestors(), ...(opts.protectedPids?.() ?? [])],
    previousExit: (opts.env ?? process.env).TETHER_PREVIOUS_EXIT,
  });
  dispatcher.setGate(recovery.gate.gate);
  const capabilities = composeCapabilities(
    [recovery, identity, audit, controlPlane, taskRuns, sharing, handoff, live, recordings],
    {
      commands,
      preconditions,
    },
  );

  const bus = nc
    ? serveCommands(nc, dispatcher, { logger, authenticate: (token) => authenticator.verify(token) })
    : undefined;
  const timers = new TimerService({
    store,
    registry,
    logger,
    send: (cmd) => host.execute(cmd).catch(toRejection),
    origins: new CorrelationOrigins(store),
  });
  let app: ReturnType<typeof buildGateway> | undefined;
  let stopping = false;
  // Everything started so far, stopped in reverse: on a failed start too, so a busy port ends the process.
  const stopAll = async () => {
    // The gateway stops listening and refuses new requests at once, but its close waits for every open
    // socket: the capabilities end theirs first (sharing tells its viewers tether is stopping), then
    // whatever is still open (a dashboard's /v1/stream) is cut.
    const closing = app?.close();
    stopping = true;
    recovery.stopping(); // a run cut short by the stop is resumed by the next start, not failed
    await bus?.stop();
    await capabilities.stop();
    app?.server.closeAllConnections();
    await closing;
    await timers.stop();
    await Promise.all(runners.map((r) => r.stop()));
  };
  try {
    await Promise.all(runners.map((r) => r.start()));
    // Before the timers (a crashed instance's missed heartbeat is this start's to record, with its exit).
    const begun = await recovery.begin();
    await timers.start();
    // Capability by capability: the control plane's terminals start before sharing reattaches relays to them.
    // While a run restores terminals, share workers and the harness monitor wait (a share's relay resumes
    // on a respawned terminal only once it runs again); in safe mode, until an operator leaves it.
    await capabilities.start({ safeMode: begun.safeMode || begun.runId !== undefined });
    recovery.onSafeModeLeft(() => capabilities.startNonEssential());
    ({ app } = await listen(opts, {
      host,
      dispatcher,
      store,
      logger,
      projections: runners as ProjectionRunner<unknown>[],
      gauges: () => ({ tether_timers_armed: timers.pending }),
      openapi: lazyOpenApi, // built from the zod contracts when first asked for: a third of the start's CPU
      routes: capabilities.routes,
      pages: [...capabilities.pages, cliBundlePage],
      everyRoute: true,
      authenticator,
      tls: tlsFiles(config),
      streamEndedWindowMs: config.TETHER_STREAM_ENDED_WINDOW_MS,
    }));
  } catch (err) {
    await stopAll().catch((e) => logger.error({ err: String(e) }, 'stopping after a failed start failed'));
    throw err;
  }
  // The run is driven once tether listens, so the dashboard shows its banner meanwhile.
  const recovered = recovery
    .drive((run) => opts.onRecoveryStep?.(run))
    .then(async (end) => {
      if (!recovery.gate.safeMode && !stopping) await capabilities.startNonEssential();
      return end;
    })
    .catch((err) => {
      logger.error({ err: String(err) }, 'recovery run did not finish; the next start resumes it');
      return undefined;
    });
  const { port } = app!.server.address() as { port: number };
  baseUrl = `${config.TETHER_TLS_CERT ? 'https' : 'http'}://${opts.bind ?? '127.0.0.1'}:${port}`;
  return {
    url: baseUrl,
    installationId,
    /** This start's recovery run at its end (undefined: there was nothing to recover). */
    recovered,
    host,
    relays: sharing.relays,
    natsBus: !!bus,
    /** The owner's token (also in $TETHER_HOME/credential). */
    token: owner.token,
    /** A fresh one-time dashboard sign-in link for the owner. */
    loginLink: () =>
      loginLink(host, commandAs(owner.principal, 'credential', 'issue'), config.TETHER_PUBLIC_URL ?? baseUrl),
    stop: stopAll,
  };
}

/** This process's ancestors (a supervisor, the shell that started it): never orphans. */
function ancestors(): number[] {
  const out: number[] = [];
  for (let pid: number | undefined = process.ppid; pid && pid > 1 && out.length < 64; pid = procStat(pid)?.ppid)
    out.push(pid);
  return out;
}

/** TETHER_TLS_CERT and TETHER_TLS_KEY, both or neither; a file that cannot be read stops the start. */
function tlsFiles(config: TetherConfig): { cert: Buffer; key: Buffer } | undefined {
  const [certFile, keyFile] = [config.TETHER_TLS_CERT, config.TETHER_TLS_KEY];
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new TetherError('INVALID_CONFIG', 'set both TETHER_TLS_CERT and TETHER_TLS_KEY (PEM files), or neither');
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (err) {
    throw new TetherError('INVALID_CONFIG', `cannot read the TLS files: ${(err as Error).message}`);
  }
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
