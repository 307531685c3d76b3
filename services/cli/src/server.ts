import { join } from 'node:path';
import { registry } from '@tether/machines';
import {
  ActorHost,
  Dispatcher,
  JetStreamEventStore,
  TimerService,
  serveCommands,
  toRejection,
  type EventStore,
  type Logger,
} from '@tether/runtime';
import { AuditProjector, ProjectionRunner, auditLogFor, projections } from '@tether/projector';
import { buildGateway } from '@tether/gateway';
import { openApiDocument } from '@tether/contracts/openapi';
import {
  HarnessMonitor,
  LaneWorker,
  NativeRelays,
  followTerminal,
  shareWriteCheck,
  ProcessShares,
  SecretBox,
  ShareCoordinator,
  ShareGate,
  ShareRunner,
  TmateAdapter,
  UptermAdapter,
  policyFromEnv,
  shareCommands,
  shareSettingsFromEnv,
  tmateOptionsFromEnv,
  uptermOptionsFromEnv,
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
  const shareSettings = shareSettingsFromEnv(env);
  const gate = new ShareGate(policyFromEnv(env, opts.home, logger), shareSettings);
  const secrets = SecretBox.load(join(opts.home, 'secret.key'));
  const host = new ActorHost({
    store,
    registry,
    logger,
    snapshotEvery: opts.snapshotEvery ?? 100,
    preconditions: {
      'terminal.spawn': canSpawnTerminal,
      'lane.create': async (cmd) => void workspaces.get((cmd.data as { workspaceId: string }).workspaceId),
      'share.request': gate.precondition,
      'share.approved': gate.decided,
      'share.rejected': gate.decided,
    },
  });
  const ownerId = opts.ownerId ?? `tether-${process.pid}`;
  const adapters = {
    tmate: new TmateAdapter(tmateOptionsFromEnv(env)),
    upterm: new UptermAdapter(uptermOptionsFromEnv(env)),
  };
  let baseUrl = '';
  const dispatcher = new Dispatcher(host, {
    'session.ensure': ensureSession(host, { heartbeatTimeoutMs: Number(env.TETHER_SESSION_HEARTBEAT_MS ?? 60_000) }),
    ...shareCommands({
      host,
      gate,
      secrets,
      baseUrl: () => env.TETHER_PUBLIC_URL || baseUrl,
      checkBackend: async (backend) =>
        backend === 'native' ? undefined : adapters[backend as keyof typeof adapters].check(),
    }),
  });
  const send = (cmd: Parameters<Dispatcher['dispatch']>[0]) => dispatcher.dispatch(cmd);
  const nc = store instanceof JetStreamEventStore ? store.nc : undefined;
  const bus = nc ? serveCommands(nc, dispatcher, { logger }) : undefined;

  const runners = Object.values(projections(registry)).map((p) => new ProjectionRunner(store, p, { logger }));
  await Promise.all(runners.map((r) => r.start()));
  // Who did what, when and why, redacted and hash-chained, for ops on tether.audit.>.
  const auditLog = await auditLogFor(store, { logger, replicas: Number(env.TETHER_REPLICAS ?? 1) });
  const audit = new AuditProjector(store, auditLog, { logger });
  await audit.start();
  const timers = new TimerService({ store, registry, logger, send: (cmd) => host.execute(cmd).catch(toRejection) });
  await timers.start();

  const lanes = new LaneWorker(store, send, workspaces, logger);
  const reaper = new SessionReaper(store, host, send, logger);
  const terminalIO = nc ? new NatsTerminalIO(nc) : new LocalTerminalIO();
  // Participants' input goes over tether.term.<id>.in like any writer's; the terminal re-checks the grant.
  const relays: NativeRelays = new NativeRelays({
    follow: (terminalId, onChunk) => followTerminal(terminalIO, terminalId, onChunk),
    sendInput: (terminalId, data, from) => terminalIO.sendInput(terminalId, { data, from }),
    report: (shareId, verb, causeId, data) =>
      send({
        id: causeId,
        entity: 'share',
        verb,
        entityId: shareId,
        data,
        actor: { kind: 'system', id: 'relay' },
        correlationId: `share-${shareId}`,
        causationId: causeId,
      }),
    share: (shareId) => host.state('share', shareId),
    log: logger,
  });
  const terminals = new TerminalWorker(store, host, send, terminalIO, logger, {
    dir: join(opts.home, 'terminals'),
    ownerId,
    maxBytesPerSec: Number(env.TETHER_TERMINAL_MAX_BPS ?? 2_000_000),
    mayWrite: shareWriteCheck(host),
  });
  let runner: ShareRunner | undefined;
  const processes = new ProcessShares(adapters, (shareId, reason) => runner?.failed(shareId, reason), logger, {
    dir: join(opts.home, 'shares'),
    ownerId,
    tmuxSocket: terminals.tmux.socket,
    readyTimeoutMs: Number(env.TETHER_SHARE_READY_MS ?? 10_000),
    heartbeatMs: Number(env.TETHER_SHARE_HEARTBEAT_MS ?? 1_000),
  });
  runner = new ShareRunner(store, host, send, relays, processes, secrets, logger);
  const coordinator = new ShareCoordinator(store, host, send, logger, {
    approvalTimeoutMs: shareSettings.approvalTimeoutMs,
  });
  const harness = new HarnessMonitor(host, send, logger, {
    url: env.TETHER_HARNESS_URL || null,
    healthUrl: env.TETHER_HARNESS_HEALTH_URL || undefined,
    everyMs: Number(env.TETHER_HARNESS_CHECK_MS ?? 5_000),
    slowMs: Number(env.TETHER_HARNESS_SLOW_MS ?? 2_000),
    cooldownMs: Number(env.TETHER_HARNESS_COOLDOWN_MS ?? 10_000),
  });
  await Promise.all([lanes.start(), reaper.start(), terminals.start()]);
  await Promise.all([coordinator.start(), runner.start()]);
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
    audit: auditLog,
    sharing: { relays, secrets, settleMs: Number(env.TETHER_SHARE_READY_MS ?? 10_000) + 2_000 },
  });
  await app.listen({ port: opts.port, host: opts.bind ?? '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  baseUrl = `http://${opts.bind ?? '127.0.0.1'}:${port}`;
  return {
    url: baseUrl,
    host,
    relays,
    natsBus: !!bus,
    async stop() {
      await app.close();
      await bus?.stop();
      harness.stop();
      await Promise.all([runner.stop(), coordinator.stop()]);
      await Promise.all([lanes.stop(), reaper.stop(), terminals.stop()]);
      await timers.stop();
      await Promise.all(runners.map((r) => r.stop()));
      await audit.stop();
      await auditLog.close();
    },
  };
}
