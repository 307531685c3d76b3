import { STREAM_EVENTS, subjects, type StoredEvent } from '@tether/contracts';
import { durableConsumerConfig } from '@tether/infra';
import { AckPolicy, DeliverPolicy, JetStreamApiError, type JsMsg } from '@nats-io/jetstream';
import type { DurableSubscriptions, SubscribeOptions, Subscription } from '../ports/subscriptions.ts';
import type { JetStreamConnection } from './connection.ts';
import { isConsumerNotFound, toStoreError } from './errors.ts';
import { toStored } from './event-log.ts';

/** Durable pull consumers on TETHER_EVENTS, one per subscription name, supervised and restarted. */
export class JetStreamSubscriptions implements DurableSubscriptions {
  constructor(private readonly conn: JetStreamConnection) {}

  async subscribe(
    name: string,
    opts: SubscribeOptions,
    handler: (e: StoredEvent) => Promise<void>,
  ): Promise<Subscription> {
    const { nc, js, jsm } = this.conn;
    const maxInFlight = Math.max(opts.maxInFlight ?? 1, 1);
    const cfg = durableConsumerConfig(
      name,
      opts.filter ?? subjects.allEvents,
      opts.ackWaitMs ?? 30_000,
      maxInFlight * 4,
    );
    const ensureConsumer = () =>
      this.conn.guarded('subscribe', async () => {
        try {
          await jsm.consumers.add(STREAM_EVENTS, {
            ...cfg,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
          });
        } catch (err) {
          // Exists already (its filter is fixed): bring the limits that may change to the requested ones.
          if (!(err instanceof JetStreamApiError)) throw err;
          await jsm.consumers.update(STREAM_EVENTS, name, {
            ack_wait: cfg.ack_wait,
            max_ack_pending: cfg.max_ack_pending,
          });
        }
      });
    await ensureConsumer();
    const handle = async (m: JsMsg) => {
      try {
        await handler(toStored(m.seq, m.subject, m.data));
        m.ack();
      } catch {
        if (!nc.isClosed()) m.nak(500);
      }
    };
    let stopped = false;
    let current: { stop(): void } | undefined;
    // Supervised: if the consumer vanishes (a rebuild elsewhere) or the iterator fails, start again.
    const done = (async () => {
      while (!stopped && !nc.isClosed()) {
        try {
          const consumer = await js.consumers.get(STREAM_EVENTS, name);
          const messages = await consumer.consume({
            max_messages: cfg.max_ack_pending,
            abort_on_missing_resource: true,
          });
          current = messages;
          if (stopped) messages.stop();
          const inflight = new Set<Promise<void>>();
          for await (const m of messages) {
            const p = handle(m).finally(() => inflight.delete(p));
            inflight.add(p);
            if (inflight.size >= maxInFlight) await Promise.race(inflight);
          }
          await Promise.all(inflight);
        } catch {
          if (stopped || nc.isClosed()) break;
          await new Promise((r) => setTimeout(r, 1_000));
          await ensureConsumer().catch(() => undefined);
        }
      }
    })();
    return {
      name,
      stop: async () => {
        stopped = true;
        current?.stop();
        await done;
      },
    };
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
