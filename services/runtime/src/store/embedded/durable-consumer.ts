import type { StoredEvent } from '@tether/contracts';
import type { Logger } from '../../logger.ts';
import type { Subscription } from '../port.ts';
import { sleep } from './common.ts';
import type { StreamFile } from './stream-file.ts';
import type { EmbeddedKv } from './kv-bucket.ts';

/** What is persisted per durable subscription: every matching event up to `floor` is acknowledged. */
export interface Position {
  floor: number;
  filter: string;
}

const REDELIVERY_DELAY_MS = 500;

export interface ConsumerDeps {
  log: StreamFile;
  /** The positions bucket, keyed by subscription name. */
  positions: EmbeddedKv;
  logger: Logger;
  waitForEvents(signal: AbortSignal): Promise<void>;
}

type Outcome = 'ack' | 'nak' | 'timeout';

/**
 * A durable subscription: `maxInFlight` slots each take the next matching event and hand it to the
 * handler until it is acknowledged (a throw retries after 500 ms, a missed ack deadline at once).
 * With one slot, delivery is strictly in order.
 */
export class DurableConsumer implements Subscription {
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<number>();
  private cursor: number; // highest stream sequence handed to a slot or passed over as not matching
  private floor: number;
  private readonly done: Promise<unknown>;

  constructor(
    readonly name: string,
    private readonly position: Position,
    private readonly ackWaitMs: number,
    maxInFlight: number,
    private readonly handler: (event: StoredEvent) => Promise<void>,
    private readonly deps: ConsumerDeps,
  ) {
    this.cursor = this.floor = position.floor;
    this.done = Promise.all(Array.from({ length: Math.max(1, maxInFlight) }, () => this.slot()));
  }

  /** Ends delivery; waits for the handler calls in flight (at most until their ack deadline). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.done;
  }

  private async slot(): Promise<void> {
    const { log } = this.deps;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const seq = log.nextMatching(this.cursor, this.position.filter);
      if (seq === undefined) {
        this.cursor = log.lastSeq;
        await this.deps.waitForEvents(signal);
        continue;
      }
      this.cursor = seq;
      this.inFlight.add(seq);
      // Stopped before an ack: it stays below the floor's reach, so it is delivered again next time.
      if (!(await this.deliver(seq))) return;
      this.inFlight.delete(seq);
      this.saveFloor();
    }
  }

  /** Hands the event to the handler until it is acknowledged; false when stopped first. */
  private async deliver(seq: number): Promise<boolean> {
    for (;;) {
      const outcome = await this.attempt(seq);
      if (outcome === 'ack') return true;
      if (this.stopping.signal.aborted) return false;
      if (outcome === 'nak') await sleep(REDELIVERY_DELAY_MS, this.stopping.signal);
    }
  }

  private attempt(seq: number): Promise<Outcome> {
    const event = this.deps.log.get(seq)!;
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        // Like JetStream: the late call is abandoned (its ack ignored) and the event redelivered.
        this.deps.logger.warn(
          { subscription: this.name, streamSeq: seq, ackWaitMs: this.ackWaitMs },
          'handler missed its ack deadline; redelivering',
        );
        resolve('timeout');
      }, this.ackWaitMs);
      const settle = (outcome: Outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      Promise.resolve()
        .then(() => this.handler(event))
        .then(
          () => settle('ack'),
          (err: unknown) => {
            this.deps.logger.warn({ subscription: this.name, streamSeq: seq, err }, 'handler failed; redelivering');
            settle('nak');
          },
        );
    });
  }

  /** Everything below the oldest event in flight is acknowledged; persist that when it moves. */
  private saveFloor(): void {
    const floor = this.inFlight.size > 0 ? Math.min(...this.inFlight) - 1 : this.cursor;
    if (floor === this.floor) return;
    this.floor = floor;
    try {
      this.deps.positions.write(this.name, 'put', { ...this.position, floor } satisfies Position);
    } catch (err) {
      // Not fatal: a position not saved only means some events are delivered again after a restart.
      this.deps.logger.error({ subscription: this.name, err }, 'cannot save the subscription position');
    }
  }
}
