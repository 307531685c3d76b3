import { STREAM_EVENTS, subjects, type StoredEvent } from '@tether/contracts';
import { durableConsumerConfig } from '@tether/infra';
import { AckPolicy, DeliverPolicy, JetStreamApiError, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Status } from '@nats-io/nats-core';
import type { DurableSubscriptions, SubscribeOptions, Subscription } from '../ports/subscriptions.ts';
import type { JetStreamConnection } from './connection.ts';
import { isConsumerNotFound, toStoreError } from './errors.ts';
import { toStored } from './event-log.ts';
import { ACK, HeldDeliveries, LEASE_MS, nakAfter } from './held-deliveries.ts';

/** A failed handler's event comes back after this long (the subscription waits for it: order holds). */
const RETRY_AFTER_MS = 500;
/** Between attempts to pull again after the consumer or the connection failed. */
const RESTART_EVERY_MS = 250;

/**
 * Durable pull consumers on TETHER_EVENTS, one per subscription name, shared by every tether process
 * on the NATS (each event goes to one of them).
 *
 * How they resume after a crash or a NATS restart (issue 10): the server's ack_wait is a short lease
 * (LEASE_MS) that each process keeps alive with "still working" while its handler runs, up to the
 * subscription's `ackWaitMs`. A kill -9 thus frees the dead process's events within the lease, while a
 * live handler keeps its event however long it runs, so no second process runs it. max_ack_pending is
 * the in-flight count: with 1 (everyone's), nothing later is delivered to anybody while an event is
 * held or waits for its retry, so each entity's events are handled in order, across processes too.
 * After a reconnect, the held events are claimed at once, the acks sent around the outage are sent
 * again (the server may not have read them) and the pull starts anew. Set aside: deleting and
 * recreating the consumer on start or on reconnect would take events from a live process that holds
 * them (two tethers share these names), and nats-server 2.9 has no call to release another client's.
 */
export class JetStreamSubscriptions implements DurableSubscriptions {
  constructor(private readonly conn: JetStreamConnection) {}

  async subscribe(
    name: string,
    opts: SubscribeOptions,
    handler: (e: StoredEvent) => Promise<void>,
  ): Promise<Subscription> {
    const { nc, js } = this.conn;
    const maxInFlight = Math.max(opts.maxInFlight ?? 1, 1);
    const cfg = durableConsumerConfig(name, opts.filter ?? subjects.allEvents, LEASE_MS, maxInFlight);
    await this.ensureConsumer(cfg);
    const held = new HeldDeliveries(nc, opts.ackWaitMs ?? 30_000);
    const run = async (m: JsMsg) => {
      const hold = held.take(m);
      if (!hold) return;
      let outcome = nakAfter(RETRY_AFTER_MS);
      try {
        await handler(toStored(m.seq, m.subject, m.data));
        outcome = ACK;
      } finally {
        held.settle(m.seq, hold, outcome);
      }
    };
    let stopped = false;
    let current: ConsumerMessages | undefined;
    let pullAgainNow = false;
    let createdAt: string | undefined;
    // After a reconnect the pull starts anew at once (the library's own reset may wait up to 30 s).
    const statuses = nc.status() as AsyncIterable<Status> & { stop(): void };
    void (async () => {
      for await (const s of statuses) {
        if (s.type !== 'reconnect') continue;
        held.reconnected();
        pullAgainNow = true;
        current?.stop();
      }
    })();
    // Supervised: if the consumer vanishes, the server restarts or the iterator fails, pull again.
    const done = (async () => {
      while (!stopped && !nc.isClosed()) {
        try {
          const consumer = await js.consumers.get(STREAM_EVENTS, name);
          // Made anew meanwhile (a rebuild elsewhere): it delivers everything again, and must not be told "done".
          const { created } = await consumer.info(true);
          if (createdAt !== undefined && created !== createdAt) held.forgetAcked();
          createdAt = created;
          const messages = await consumer.consume({ max_messages: maxInFlight, abort_on_missing_resource: true });
          current = messages;
          if (stopped) messages.stop();
          for await (const m of messages) {
            run(m).catch(() => undefined); // a throw is the nak already sent
            await held.whenFewerThan(maxInFlight);
          }
          if (!pullAgainNow) await new Promise((r) => setTimeout(r, RESTART_EVERY_MS));
          pullAgainNow = false;
        } catch (err) {
          if (stopped || nc.isClosed()) break;
          await new Promise((r) => setTimeout(r, RESTART_EVERY_MS));
          // Only a consumer that is gone is made again (a rebuild elsewhere deleted it); while a restarted
          // server still recovers its consumers, a create could start one afresh beside the old position.
          if (isConsumerNotFound(err)) await this.ensureConsumer(cfg).catch(() => undefined);
        }
      }
      // Closed under it (a crash in tests, the end of the process): nothing can be acked any more.
      if (nc.isClosed()) {
        statuses.stop();
        held.close();
      }
    })();
    return {
      name,
      stop: async () => {
        stopped = true;
        statuses.stop();
        current?.stop();
        await done;
        // The handlers in flight end (or reach their deadline) and are acked.
        if (!nc.isClosed()) await held.whenFewerThan(1);
        held.close();
      },
    };
  }

  /** Creates the consumer, or brings an existing one to `cfg` (nats-server 2.9 takes a create with a changed config as an update). */
  private ensureConsumer(cfg: ReturnType<typeof durableConsumerConfig>): Promise<void> {
    const { jsm } = this.conn;
    const config = { ...cfg, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All };
    return this.conn.guarded('subscribe', async () => {
      try {
        await jsm.consumers.add(STREAM_EVENTS, config);
      } catch (err) {
        // Newer servers refuse a create that changes the config: update what may change.
        if (!(err instanceof JetStreamApiError)) throw err;
        await jsm.consumers.update(STREAM_EVENTS, cfg.durable_name, {
          ack_wait: cfg.ack_wait,
          max_ack_pending: cfg.max_ack_pending,
          filter_subject: cfg.filter_subject ?? '',
        });
      }
    });
  }

  async deleteSubscription(name: string): Promise<void> {
    try {
      await this.conn.jsm.consumers.delete(STREAM_EVENTS, name);
    } catch (err) {
      if (!isConsumerNotFound(err)) throw toStoreError(err, 'delete subscription');
    }
  }

  async subscriptionLag(name: string): Promise<number | undefined> {
    try {
      const ci = await this.conn.jsm.consumers.info(STREAM_EVENTS, name);
      return ci.num_pending + ci.num_ack_pending;
    } catch (err) {
      if (isConsumerNotFound(err)) return undefined;
      throw toStoreError(err, 'subscription info');
    }
  }
}
