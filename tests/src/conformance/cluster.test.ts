import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '@tether/machines';
import { ActorHost, JetStreamEventStore, type EventStore } from '@tether/runtime';
import { NatsCluster, cmd, eventually, uid } from '../harness/index.ts';
import { eventStoreConformance } from './event-store.conformance.ts';

// The scale-out path: three nats-servers, stream and KV replicated three times.
let cluster: NatsCluster;
const open: EventStore[] = [];
beforeAll(async () => {
  cluster = await NatsCluster.start(3);
});
afterAll(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  await cluster?.dispose();
});

/** A cluster needs a moment to elect its JetStream meta leader; creating the stream retries until then. */
async function openStore(): Promise<JetStreamEventStore> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      const s = await JetStreamEventStore.open(cluster.url, { replicas: 3 });
      open.push(s);
      return s;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

eventStoreConformance('JetStream three-node cluster, R3', async () => {
  const store = await openStore();
  return {
    store,
    crashAndReopen: async () => {
      await store.nc.close();
      return openStore();
    },
  };
});

describe('three-node cluster', () => {
  it('keeps accepting commands with one node killed, and loses nothing acknowledged', async () => {
    const store = await openStore();
    const host = new ActorHost({ store, registry });
    const id = uid('ha');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
    for (let i = 0; i < 20; i++) await host.execute(cmd('lease', 'renew', id));
    const victim = cluster.nodes.find((n) => !store.nc.getServer().includes(String(n.port)))!;
    await victim.stop(true);
    let acked = 0;
    const until = Date.now() + 30_000;
    while (acked < 20 && Date.now() < until) {
      const r = await host.execute(cmd('lease', 'renew', id)).catch((e) => e);
      if (r?.ok) acked++;
      else await new Promise((res) => setTimeout(res, 200));
    }
    expect(acked).toBe(20);
    await victim.restart();
    host.clearCache();
    // While the restarted node rejoins, a read may time out: the answer must come, and be complete.
    const state = await eventually(
      () => host.state('lease', id).catch(() => undefined),
      (s) => s !== undefined,
      30_000,
    );
    expect(state).toMatchObject({ version: 41, context: { renewals: 40 } });
  });
});
