import { TetherError } from '@tether/contracts';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { AuthorizationError, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { failOnDisconnect } from './disconnects.ts';
import { storeErrorsOf } from './errors.ts';

/** A NATS user and its password (TETHER_NATS_USER, TETHER_NATS_PASSWORD); the password is never logged. */
export interface NatsCredentials {
  user: string;
  pass: string;
}

/** Connects to NATS (as `credentials.user` when given); reconnects forever, so a restarted server is picked up. */
export async function connectNats(
  url: string,
  opts: { name?: string; credentials?: NatsCredentials } = {},
): Promise<NatsConnection> {
  const { name = 'tether', credentials } = opts;
  try {
    // noAsyncTraces: no stack captured per request, a measurable share of each command's CPU.
    return await connect({
      servers: url.split(','),
      name,
      ...credentials,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      noAsyncTraces: true,
    });
  } catch (err) {
    if (err instanceof AuthorizationError)
      throw new TetherError(
        'UNAVAILABLE',
        `NATS at ${url} refused ${credentials ? `user "${credentials.user}"` : 'a connection without a user'} (${err.message}); set TETHER_NATS_USER and TETHER_NATS_PASSWORD to a user of the server's config (infra/nats/roles.conf: user "tether")`,
        { cause: err },
      );
    throw new TetherError(
      'UNAVAILABLE',
      `cannot reach NATS at ${url}: ${(err as Error).message}; start nats-server with -js or set NATS_URL`,
      { cause: err },
    );
  }
}

/**
 * The JetStream clients of one store over one NATS connection, and what the surfaces share: whether
 * the connection is up (calls fail fast while it is down), and requests in flight failed at once
 * when it drops (see failOnDisconnect).
 */
export class JetStreamConnection {
  /** False between a disconnect and the reconnect: calls then fail fast instead of waiting out a timeout. */
  private connected = true;

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

  /** Runs one request against the server: fails fast while disconnected or when the connection drops, maps failures to typed errors. */
  guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      this.ensureConnected(what);
    } catch (err) {
      return Promise.reject(err);
    }
    const dropped = () =>
      new TetherError('UNAVAILABLE', `event store unavailable (${what}): the NATS connection dropped; retry shortly`);
    return storeErrorsOf(() => failOnDisconnect(this.nc, fn(), dropped), what);
  }

  ensureConnected(what: string): void {
    if (this.nc.isClosed()) throw new TetherError('UNAVAILABLE', `event store closed (${what})`);
    if (!this.connected)
      throw new TetherError(
        'UNAVAILABLE',
        `event store unavailable (${what}): the NATS connection is down and reconnecting; retry shortly`,
      );
  }

  /** Races an append's `ack` against a disconnect, which fails it at once: the outcome is then unknown. */
  untilDisconnect<T>(ack: Promise<T>): Promise<T> {
    return failOnDisconnect(
      this.nc,
      ack,
      () =>
        new TetherError(
          'UNAVAILABLE',
          'the NATS connection dropped while appending; the outcome is unknown: resend with the same command id',
        ),
    );
  }

  private async trackConnection() {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') this.connected = false;
      else if (s.type === 'reconnect') this.connected = true;
    }
  }
}
