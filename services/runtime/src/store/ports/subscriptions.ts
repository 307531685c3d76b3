import type { StoredEvent } from '@tether/contracts';

/** Durable, acknowledged delivery of the log to projections, reactors and workers. */
export interface DurableSubscriptions {
  /**
   * A durable subscription: each event is handed to `handler` and acknowledged when it resolves;
   * a throw, a crash or a missed ack deadline redelivers it. Survives restarts of both sides.
   */
  subscribe(
    name: string,
    opts: SubscribeOptions,
    handler: (event: StoredEvent) => Promise<void>,
  ): Promise<Subscription>;
  /** Removes a durable subscription and its position (used to rebuild a projection). */
  deleteSubscription(name: string): Promise<void>;
  /** Events not yet acknowledged by the named subscription (its lag). */
  subscriptionLag(name: string): Promise<number | undefined>;
}

export interface SubscribeOptions {
  filter?: string;
  /**
   * How long a handler may run: past it the call is abandoned and the event delivered again. (A crashed
   * process's events are delivered again much sooner: the store notices that nobody works on them.)
   */
  ackWaitMs?: number;
  /** Events in flight to the handler at once; 1 keeps strict order. */
  maxInFlight?: number;
}

export interface Subscription {
  readonly name: string;
  stop(): Promise<void>;
}
