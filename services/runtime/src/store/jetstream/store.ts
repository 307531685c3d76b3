import { eventsStreamConfig, type EventsStreamOptions } from '@tether/infra';
import type { NatsConnection } from '@nats-io/nats-core';
import { ComposedEventStore } from '../composed-store.ts';
import { JetStreamConnection, connectNats, type NatsCredentials } from './connection.ts';
import { storeErrorsOf } from './errors.ts';
import { JetStreamEventLog } from './event-log.ts';
import { JetStreamKeyValue } from './key-value.ts';
import { ensureStream } from './streams.ts';
import { JetStreamSubscriptions } from './subscriptions.ts';

export interface JetStreamStoreOptions extends EventsStreamOptions {
  /** Milliseconds to wait for the server's answer before calling it unavailable. */
  timeoutMs?: number;
  name?: string;
  /** The NATS user to connect as (given a URL). */
  credentials?: NatsCredentials;
}

/** The event store on NATS JetStream: TETHER_EVENTS, durable consumers on it, and KV buckets. */
export class JetStreamEventStore extends ComposedEventStore {
  readonly kind = 'jetstream' as const;

  private constructor(
    private readonly conn: JetStreamConnection,
    opts: JetStreamStoreOptions,
    private readonly ownsConnection: boolean,
  ) {
    super({
      log: new JetStreamEventLog(conn),
      subscriptions: new JetStreamSubscriptions(conn),
      keyValue: new JetStreamKeyValue(conn, opts),
    });
  }

  /** The NATS connection (the bus and the audit log share it). */
  get nc(): NatsConnection {
    return this.conn.nc;
  }

  /** Connects (given a URL) and declares the events stream, or brings it to the declared config. */
  static async open(nc: NatsConnection | string, opts: JetStreamStoreOptions = {}): Promise<JetStreamEventStore> {
    const owns = typeof nc === 'string';
    const natsConn =
      typeof nc === 'string' ? await connectNats(nc, { name: opts.name, credentials: opts.credentials }) : nc;
    try {
      const conn = await JetStreamConnection.open(natsConn, { timeoutMs: opts.timeoutMs ?? 5_000 });
      await storeErrorsOf(() => ensureStream(conn.jsm, eventsStreamConfig(opts)), 'request');
      return new JetStreamEventStore(conn, opts, owns);
    } catch (err) {
      if (owns) await natsConn.close(); // a failed open leaves no connection behind (it would reconnect forever)
      throw err;
    }
  }

  async close(): Promise<void> {
    const { nc } = this.conn;
    if (this.ownsConnection && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
