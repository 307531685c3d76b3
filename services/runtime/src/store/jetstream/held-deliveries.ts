import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { LruMap } from '../../actor/lru.ts';

/**
 * The consumers' ack_wait on the server: a delivery whose holder stopped saying "still working" for
 * this long goes to the next pull, so a kill -9 releases the dead process's events within it.
 */
export const LEASE_MS = 2_000;
/** "Still working" (+WPI) for each held delivery, four times a lease: a late timer or two lose nothing. */
export const HEARTBEAT_MS = LEASE_MS / 4;
/** Acks kept to send again after a reconnect. */
const RESENT_AFTER_RECONNECT = 256;

// The acknowledgement payloads of JetStream (what JsMsg sends), published directly so they can be repeated.
export const ACK = '+ACK';
const WORKING = '+WPI';
export const nakAfter = (ms: number) => (ms > 0 ? `-NAK ${JSON.stringify({ delay: ms * 1_000_000 })}` : '-NAK');

/** The ack subject of a delivery ($JS.ACK.…): JsMsgImpl has it as `reply`, the JsMsg type does not say so. */
const ackSubject = (m: JsMsg) => (m as JsMsg & { readonly reply: string }).reply;

/** One event this process holds: every delivery of it (a redelivery may come while it runs) and when its handler began. */
interface Held {
  replies: string[];
  since: number;
}

/**
 * The deliveries one durable subscription holds. While a handler runs, each of its deliveries is told
 * "still working" every HEARTBEAT_MS, up to `deadlineMs`: past that the call is abandoned and the event
 * handed back (a hung handler must not hold the subscription for good). The latest acks are kept, so
 * a reconnect can send again those the server may not have read; a redelivery of an event acked here
 * lately is acked again without running its handler.
 */
export class HeldDeliveries {
  private readonly held = new Map<number, Held>();
  private readonly acked = new LruMap<number, true>(1_024);
  /** Ack subjects of the latest acks, to send again after a reconnect. */
  private recent: string[] = [];
  private freed: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly deadlineMs: number,
  ) {
    this.timer = setInterval(() => this.tick(Date.now()), HEARTBEAT_MS);
    this.timer.unref();
  }

  /**
   * A delivery arrived. Returns the hold to run its handler under, or undefined when there is nothing
   * to run: the event is running here already (this delivery joins it) or was acked here (acked again).
   */
  take(m: JsMsg): Held | undefined {
    const running = this.held.get(m.seq);
    if (running) {
      running.replies.push(ackSubject(m));
      return undefined;
    }
    if (m.redelivered && this.acked.get(m.seq)) {
      this.send(ackSubject(m), ACK);
      return undefined;
    }
    const h: Held = { replies: [ackSubject(m)], since: Date.now() };
    this.held.set(m.seq, h);
    return h;
  }

  /** The handler of `seq` ended: ack or nak every delivery of it, unless the call was abandoned meanwhile. */
  settle(seq: number, h: Held, payload: string): void {
    if (this.held.get(seq) !== h) return;
    this.held.delete(seq);
    if (payload === ACK) this.acked.set(seq, true);
    for (const reply of h.replies) this.send(reply, payload);
    this.release();
  }

  /** The consumer was made anew: what was acked on the old one counts for nothing on the new one. */
  forgetAcked(): void {
    this.acked.clear();
  }

  /** Resolves once fewer than `max` handlers run. */
  async whenFewerThan(max: number): Promise<void> {
    while (this.held.size >= max) await new Promise<void>((r) => this.freed.push(r));
  }

  /**
   * Back after a disconnect: the held events are ours still (say so before the server hands them
   * on), and the acks sent around the outage are sent again (acking twice changes nothing).
   */
  reconnected(): void {
    for (const h of this.held.values()) for (const reply of h.replies) this.publish(reply, WORKING);
    for (const reply of this.recent) this.publish(reply, ACK);
  }

  /** Ends the heartbeats; handlers still running settle without effect on the server's side after this. */
  close(): void {
    clearInterval(this.timer);
  }

  /** Every heartbeat: "still working" for each held delivery, and the calls past their deadline handed back. */
  private tick(now: number): void {
    for (const [seq, h] of this.held) {
      if (now - h.since < this.deadlineMs) {
        for (const reply of h.replies) this.publish(reply, WORKING);
        continue;
      }
      this.held.delete(seq);
      for (const reply of h.replies) this.send(reply, nakAfter(0));
      this.release();
    }
  }

  private send(reply: string, payload: string): void {
    this.publish(reply, payload);
    // Only acks are sent again: a nak repeated late could hand on an event another process now runs.
    if (payload !== ACK) return;
    this.recent.push(reply);
    if (this.recent.length > 2 * RESENT_AFTER_RECONNECT) this.recent = this.recent.slice(-RESENT_AFTER_RECONNECT);
  }

  /** A connection that is closing takes no more messages (publish would throw): the server hands the event on. */
  private publish(reply: string, payload: string): void {
    if (this.nc.isClosed() || this.nc.isDraining()) return;
    this.nc.publish(reply, payload);
  }

  private release(): void {
    const waiting = this.freed;
    this.freed = [];
    for (const w of waiting) w();
  }
}
