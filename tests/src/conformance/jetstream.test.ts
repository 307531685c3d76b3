import { afterAll, beforeAll } from 'vitest';
import { JetStreamEventStore, type EventStore } from '@tether/runtime';
import { NatsServer } from '../harness/nats-server.ts';
import { eventStoreConformance } from './event-store.conformance.ts';

let nats: NatsServer;
const open: EventStore[] = [];
beforeAll(async () => {
  nats = await NatsServer.start();
});
afterAll(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  await nats.dispose();
});

eventStoreConformance('JetStream (real nats-server)', async () => {
  const store = await JetStreamEventStore.open(nats.url);
  open.push(store);
  return {
    store,
    crashAndReopen: async () => {
      // A crash: the connection drops without draining or acking anything in flight.
      await store.nc.close();
      const again = await JetStreamEventStore.open(nats.url);
      open.push(again);
      return again;
    },
  };
});
