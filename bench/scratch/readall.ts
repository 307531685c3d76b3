import { connect } from '@nats-io/transport-node';
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';
import { NatsServer } from '@tether/tests';
import { JetStreamEventStore } from '@tether/runtime';
import { writeHistory } from '../src/replay.ts';
const nats = await NatsServer.start();
const store = await JetStreamEventStore.open(nats.url);
const nc = await connect({ servers: nats.url });
const js = jetstream(nc);
await writeHistory(store, { entities: 1000, eventsPerEntity: 100, window: 256, sample: 0 });
const N = 100000;
async function consume(onMsg: (m: any) => boolean | void) {
  const c = await js.consumers.get('TETHER_EVENTS', { filter_subjects: 'tether.evt.>', deliver_policy: DeliverPolicy.All });
  const it = await c.consume({ max_messages: 1024 });
  let n = 0;
  for await (const m of it) { if (onMsg(m) || ++n >= N) break; }
  await it.close();
}
async function* gen() {
  const c = await js.consumers.get('TETHER_EVENTS', { filter_subjects: 'tether.evt.>', deliver_policy: DeliverPolicy.All });
  const it = await c.consume({ max_messages: 1024 });
  let n = 0;
  try { for await (const m of it) { yield { streamSeq: m.seq, subject: m.subject, event: JSON.parse(new TextDecoder().decode(m.data)) }; if (++n >= N || m.info.pending === 0) break; } } finally { await it.close(); }
}
async function* outer() { yield* gen(); }
const td = new TextDecoder();
const cases: Record<string, () => Promise<void>> = {
  raw: () => consume(() => {}),
  'raw+newTextDecoder+parse': () => consume((m) => { JSON.parse(new TextDecoder().decode(m.data)); }),
  'raw+sharedDecoder+parse': () => consume((m) => { JSON.parse(td.decode(m.data)); }),
  'raw+m.json()': () => consume((m) => { m.json(); }),
  'raw+info.pending': () => consume((m) => { void m.info.pending; }),
  'raw+all of toStored+pending': () => consume((m) => { const e = { streamSeq: m.seq, subject: m.subject, event: JSON.parse(new TextDecoder().decode(m.data)) }; void e; return m.info.pending === 0; }),
  'two async generators (like readAll)': async () => { for await (const e of outer()) void e; },
  'store.readAll': async () => { for await (const e of store.readAll()) void e; },
};
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    const t = performance.now(); await fn(); const dt = performance.now() - t;
    console.log(round, name.padEnd(40), Math.round(N / dt * 1000));
  }
}
await nc.close(); await store.close(); await nats.dispose();
