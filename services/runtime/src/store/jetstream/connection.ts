import { TetherError } from '@tether/contracts';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { storeErrorsOf } from './errors.ts';

/** Connects to NATS; reconnects forever, so a restarted server is picked up. */
export async function connectNats(url: string, name = 'tether'): Promise<NatsConnection> {
  try {
    // noAsyncTraces: no stack captured per request, a measurable share of each command's CPU.
    return await connect({
      servers: url.split(','),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      noAsyncTraces: true,
    });
  } catch (err) {
    throw new TetherError(
      'UNAVAILABLE',
      `cannot reach NATS at ${url}: ${(err as Error).message}; start nats-server with -js or set NATS_URL`,
      { cause: err },
    );
  }
}

/**
 * The JetStream clients of one store over one NATS connection, and what the surfaces share: whether
 * the connection is up (calls fail fast while it is down) and the appends awaiting their ack.
 */
export class JetStreamConnection {
  /** False between a disconnect and the reconnect: calls then fail fast instead of waiting out a timeout. */
  private connected = true;
  /** Appends awaiting their ack; a disconnect fails them at once (the caller resends with the same id). */
  private readonly inflight = new Set<(err: Error) => void>();

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {
    void this.trackConnection();
  }

  static async open(nc: NatsConnection, { timeoutMs }: { timeoutMs: number }): Promise<JetStreamConnection> {
    const jsm = await storeErrorsOf(() => jetstreamManager(nc, { timeout: timeoutMs }), 'request');
    return new JetStreamConnection(nc, jetstream(nc, { timeout: timeoutMs }), jsm);
  }

  /** Runs one request against the server: fails fast while disconnected, maps failures to typed errors. */
  guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      this.ensureConnected(what);
    } catch (err) {
      return Promise.reject(err);
    }
    return storeErrorsOf(fn, what);
  }

  ensureConnected(what: string): void {
    if (this.nc.isClosed()) throw new TetherError('UNAVAILABLE', `event store closed (${what})`);
    if (!this.connected)
      throw new TetherError(
        'UNAVAILABLE',
        `event store unavailable (${what}): the NATS connection is down and reconnecting; retry shortly`,
      );
  }

  /** Races `ack` against a disconnect, which fails it at once: the outcome is then unknown. */
  async untilDisconnect<T>(ack: Promise<T>): Promise<T> {
    let fail!: (err: Error) => void;
    const dropped = new Promise<never>((_, reject) => (fail = reject));
    this.inflight.add(fail);
    ack.catch(() => undefined); // if the disconnect wins, nobody awaits this one any more
    try {
      return await Promise.race([ack, dropped]);
    } finally {
      this.inflight.delete(fail);
    }
  }

  private async trackConnection() {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') {
        this.connected = false;
        const err = new TetherError(
          'UNAVAILABLE',
          'the NATS connection dropped while appending; the outcome is unknown: resend with the same command id',
        );
        for (const fail of this.inflight) fail(err);
        this.inflight.clear();
      } else if (s.type === 'reconnect') this.connected = true;
    }
  }
}
