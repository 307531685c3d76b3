import { registry } from '@tether/machines';
import { ActorHost, JetStreamEventStore, TimerService, serveCommands, toRejection, type EventStore, type Logger } from '@tether/runtime';
import { ProjectionRunner, projections } from '@tether/projector';
import { buildGateway } from '@tether/gateway';
import { openApiDocument } from '@tether/contracts/openapi';

export interface ServerOptions {
  store: EventStore;
  logger: Logger;
  port: number;
  bind?: string;
  snapshotEvery?: number;
}

/** Everything `tether up` runs in one process: actor host, NATS command bus, projections, timers, gateway. */
export async function startServer(opts: ServerOptions) {
  const { store, logger } = opts;
  const host = new ActorHost({ store, registry, logger, snapshotEvery: opts.snapshotEvery ?? 100 });
  const bus = store instanceof JetStreamEventStore ? serveCommands(store.nc, host, { logger }) : undefined;
  const runners = Object.values(projections(registry)).map((p) => new ProjectionRunner(store, p, { logger }));
  await Promise.all(runners.map((r) => r.start()));
  const timers = new TimerService({ store, registry, logger, send: (cmd) => host.execute(cmd).catch(toRejection) });
  await timers.start();
  const app = buildGateway({
    host,
    store,
    logger,
    projections: runners as ProjectionRunner<unknown>[],
    gauges: () => ({ tether_timers_armed: timers.pending }),
    openapi: openApiDocument(),
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
      await timers.stop();
      await Promise.all(runners.map((r) => r.stop()));
    },
  };
}
