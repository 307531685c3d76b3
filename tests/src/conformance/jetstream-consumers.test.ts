import { afterAll, describe, expect, it } from 'vitest';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { STREAM_EVENTS } from '@tether/contracts';
import { JetStreamEventStore, failOnDisconnect } from '@tether/runtime';
import { connect } from '@nats-io/transport-node';
import { eventually, uid, useNats } from '../harness/index.ts';
import { event } from './event-store.conformance.ts';

// How the JetStream durable subscriptions share work between processes and ride out a NATS restart
// (issue 10): a short server-side lease kept alive while a handler runs, one event in flight at a time.

const ctx = useNats();
const others: JetStreamEventStore[] = [];
afterAll(async () => {
  for (const s of others) await s.close();
});

/** Another process's store: its own NATS connection. */
async function otherProcess() {
  const s = await JetStreamEventStore.open(ctx.nats.url);
  others.push(s);
  return s;
}

async function appendEvents(entity: string, id: string, n: number) {
  let last = await ctx.store.lastSubjectSeq(entity, id);
  for (let i = 1; i <= n; i++)
    last = (await ctx.store.append(event(entity, id, i), { expectedLastSeq: last, msgId: uid('m') })).streamSeq;
}

describe('JetStream durable subscriptions across processes', () => {
  it('a handler running past the lease keeps its event: no other process runs it, and nothing later overtakes it', async () => {
    const [a, b] = [await otherProcess(), await otherProcess()];
    const name = uid('sub');
    const id = uid('e');
    const filter = `tether.evt.lease.${id}`;
    const runs: { who: string; seq: number; start: number; end: number }[] = [];
    const handler = (who: string) => async (e: { event: { seq: number } }) => {
      const start = Date.now();
      // The first event outlasts two leases (2 s each): heartbeats must keep it where it is.
      if (e.event.seq === 1) await new Promise((r) => setTimeout(r, 5_000));
      runs.push({ who, seq: e.event.seq, start, end: Date.now() });
    };
    const subs = [
      await a.subscribe(name, { filter, ackWaitMs: 60_000 }, handler('a')),
      await b.subscribe(name, { filter, ackWaitMs: 60_000 }, handler('b')),
    ];
    await appendEvents('lease', id, 4);
    await eventually(
      () => runs.length,
      (n) => n >= 4,
    );
    await new Promise((r) => setTimeout(r, 500)); // a second run of anything would show up here
    for (const s of subs) await s.stop();
    expect(runs.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end);
  });

  it('after a NATS restart, an event whose ack was sent during the outage is not run again, and the next follows', async () => {
    const store = await otherProcess();
    const name = uid('sub');
    const id = uid('e');
    const calls: number[] = [];
    let finish!: () => void;
    const finishing = new Promise<void>((r) => (finish = r));
    await store.subscribe(name, { filter: `tether.evt.lease.${id}`, ackWaitMs: 60_000 }, async (e) => {
      calls.push(e.event.seq);
      if (e.event.seq === 1) await finishing;
    });
    await appendEvents('lease', id, 1);
    await eventually(
      () => calls.length,
      (n) => n === 1,
    );
    await ctx.nats.stop();
    finish(); // acked while the server is down: the ack cannot arrive
    await new Promise((r) => setTimeout(r, 2_000));
    await ctx.nats.restart();
    const back = Date.now();
    await eventually(
      () => appendNext(id),
      (ok) => ok,
    );
    await eventually(
      () => calls.length,
      (n) => n >= 2,
    );
    console.log(`the next event ran ${Date.now() - back} ms after nats-server was back`);
    await new Promise((r) => setTimeout(r, 2_500)); // past a lease: a redelivery of 1 would have run by now
    expect(calls).toEqual([1, 2]);
  });

  it('creates the consumer without a filter for the whole stream, with the lease as ack wait, and brings an old one to that where it stood', async () => {
    const nc = ctx.store.nc;
    const jsm = await jetstreamManager(nc);
    const name = uid('old');
    const id = uid('e');
    await appendEvents('lease', id, 3);
    const head = await ctx.store.lastStreamSeq();
    // As tether created them before: the whole stream as filter, 120 s ack wait, 4 unacked at most.
    await jsm.consumers.add(STREAM_EVENTS, {
      durable_name: name,
      filter_subject: 'tether.evt.>',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 120_000_000_000,
      max_ack_pending: 4,
    });
    const old = await jetstream(nc).consumers.get(STREAM_EVENTS, name);
    for (let seq = 1; seq < head; seq++) await (await old.next())!.ackAck();

    const seen: number[] = [];
    const sub = await ctx.store.subscribe(name, {}, async (e) => void seen.push(e.streamSeq));
    await eventually(
      () => seen,
      (s) => s.includes(head),
    );
    await sub.stop();
    expect(seen).toEqual([head]);
    const { config } = await jsm.consumers.info(STREAM_EVENTS, name);
    expect(config).toMatchObject({ ack_wait: 2_000_000_000, max_ack_pending: 1 });
    expect(config.filter_subject ?? '').toBe('');
  });
});

describe('a request in flight when the NATS connection drops', () => {
  it('fails at once instead of waiting out its timeout, and so does one made while it is down', async () => {
    const nc = await connect({ servers: ctx.nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const silent = await connect({ servers: ctx.nats.url });
    silent.subscribe('tether.test.silent', { callback: () => undefined }); // takes requests, answers none
    await silent.flush();
    try {
      const request = nc.request('tether.test.silent', '', { timeout: 30_000 });
      const outcome = failOnDisconnect(nc, request, () => new Error('dropped')).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      const t0 = Date.now();
      await ctx.nats.stop();
      expect(await outcome).toBe('dropped');
      expect(Date.now() - t0).toBeLessThan(5_000); // the request's own timeout is 30 s
      // And one made while the connection is down fails at once too (it would be answered by nobody).
      const t1 = Date.now();
      const whileDown = nc.request('tether.test.silent', '', { timeout: 30_000 });
      await expect(failOnDisconnect(nc, whileDown, () => new Error('down'))).rejects.toThrow('down');
      expect(Date.now() - t1).toBeLessThan(1_000);
    } finally {
      await ctx.nats.restart();
      await silent.close();
      await nc.close();
    }
  });
});

/** Appends the entity's second event; false while the store is still coming back. */
async function appendNext(id: string): Promise<boolean> {
  try {
    const last = await ctx.store.lastSubjectSeq('lease', id);
    await ctx.store.append(event('lease', id, 2), { expectedLastSeq: last, msgId: `next-${id}` });
    return true;
  } catch {
    return false;
  }
}
