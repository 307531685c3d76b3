import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ActorList } from '@tether/contracts';
import { EmbeddedEventStore, JetStreamEventStore, silentLogger, type EventStore } from '@tether/runtime';
import { startServer } from '@tether/cli';
import { bearer, NatsServer, uid } from '../harness/index.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function jetstream(): Promise<EventStore> {
  const nats = await NatsServer.start();
  const store = await JetStreamEventStore.open(nats.url);
  cleanups.push(
    () => nats.dispose(),
    () => store.close(),
  );
  return store;
}

async function embedded(): Promise<EventStore> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-list-'));
  const store = await EmbeddedEventStore.open(dir);
  cleanups.push(
    async () => rmSync(dir, { recursive: true, force: true }),
    () => store.close(),
  );
  return store;
}

describe.each([
  ['JetStream', jetstream],
  ['embedded', embedded],
])('entity list on the %s store', (_name, open) => {
  // Each lease is created and renewed, so its read-model key is written twice while the list is polled.
  it('never shows one entity twice while ~200 creates are being projected', async () => {
    const store = await open();
    const server = await startServer({
      store,
      logger: silentLogger,
      port: 0,
      home: mkdtempSync(join(tmpdir(), 'tether-list-home-')),
    });
    cleanups.push(() => server.stop());
    const prefix = uid('l').replace(/[^a-z0-9]/gi, '');
    const ids = Array.from({ length: 200 }, (_, i) => `${prefix}x${i}`);
    const send = (verb: string, entityId: string, data: Record<string, unknown> = {}) =>
      fetch(`${server.url}/v1/commands/lease/${verb}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(server) },
        body: JSON.stringify({ entityId, data }),
      }).then((r) => expect(r.status).toBeLessThan(300));
    let writing = true;
    const writes = (async () => {
      // Eight writers at a time: the projection runs behind them, updating keys the list is iterating.
      for (let i = 0; i < ids.length; i += 8) {
        await Promise.all(
          ids.slice(i, i + 8).map(async (id) => {
            await send('create', id, { holder: 'ann' });
            await send('renew', id);
          }),
        );
      }
    })().finally(() => (writing = false));
    let polls = 0;
    let pollsWhileWriting = 0;
    const repeats: string[] = [];
    let seen = 0;
    while (writing || seen < ids.length) {
      const res = await fetch(`${server.url}/v1/entities/lease`, { headers: bearer(server) });
      expect(res.status).toBe(200);
      const mine = ActorList.parse(await res.json()).items.filter((a) => a.entityId.startsWith(prefix));
      const unique = new Set(mine.map((a) => a.entityId));
      if (unique.size !== mine.length) repeats.push(`poll ${polls}: ${mine.length} items, ${unique.size} ids`);
      seen = mine.filter((a) => a.version === 2).length;
      polls++;
      if (writing) pollsWhileWriting++;
    }
    await writes;
    expect(repeats).toEqual([]);
    expect(pollsWhileWriting).toBeGreaterThanOrEqual(5);
    expect(seen).toBe(ids.length);
  });
});
