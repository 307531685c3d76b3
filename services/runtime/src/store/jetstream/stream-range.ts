import { TetherError } from '@tether/contracts';
import {
  DeliverPolicy,
  jetstream,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { getStreamMessage } from './streams.ts';

/** Messages a range read fetches one by one before it turns to a consumer. */
const GETS_FIRST = 64;
/** How long creating a read consumer may take before it is given up and another one tried. */
const CONSUMER_CREATE_MS = 1_000;
/** Read consumers tried before a read goes on with gets (a live one is found 26 times in 27 with one node of three down). */
const CONSUMER_TRIES = 3;

export interface RangeMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
}

/** Runs one request against the server and turns its failure into a TetherError (UNAVAILABLE when it may pass). */
export type StoreGuard = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Reads a range of one stream without depending on where nats-server places a consumer.
 *
 * A read starts with gets through the stream leader (`next_by_subj`), one message each, and most reads
 * (an entity's history, a page) end there. Measured on nats-server 2.9.10 with one node of three
 * killed: these gets and stream info never failed (when the stream leader was the one killed, after
 * the election, about 6 s), while a third of the ephemeral consumers (ordered consumers, kv.keys())
 * were placed on the dead node and timed out, for as long as it stayed down. Batch direct gets, which
 * would read a range without a consumer, need 2.11. Past GETS_FIRST messages a read turns to an
 * ordered consumer, for throughput (a rebuild reads 100k events), created with a short timeout and
 * tried again (each one is a new draw of a replica); if none can be created, the gets go on.
 */
export class StreamRangeReader {
  /** Creates the ordered consumers, with a timeout short enough to try another one soon. */
  private readonly js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly guard: StoreGuard,
  ) {
    this.js = jetstream(nc, { timeout: CONSUMER_CREATE_MS });
  }

  /**
   * The messages matching `filter` with `afterSeq` < seq <= `end`, in order. `end` must be a match or
   * lie before one: past the first gets, a consumer waits for the next match.
   */
  async *read(filter: string, afterSeq: number, end: number): AsyncIterable<RangeMessage> {
    let cursor = afterSeq;
    for (let n = 0; cursor < end; n++) {
      if (n === GETS_FIRST) {
        const consumer = await this.consumer(filter, cursor);
        if (consumer) return yield* consumeUntil(consumer, end);
      }
      const m = await this.guard('read', () =>
        getStreamMessage(this.jsm, this.stream, { seq: cursor + 1, next_by_subj: filter }),
      );
      if (!m || m.seq > end) return;
      cursor = m.seq;
      yield m;
    }
  }

  /**
   * An ordered consumer from `afterSeq`+1, or undefined when CONSUMER_TRIES creations timed out:
   * nats-server 2.9 places each one on a replica at random, a dead one included.
   */
  async consumer(filter: string, afterSeq: number): Promise<Consumer | undefined> {
    const from =
      afterSeq > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 }
        : { deliver_policy: DeliverPolicy.All };
    for (let i = 0; i < CONSUMER_TRIES; i++) {
      try {
        return await this.guard('read', () => this.js.consumers.get(this.stream, { filter_subjects: filter, ...from }));
      } catch (err) {
        if (!(err instanceof TetherError && err.code === 'UNAVAILABLE')) throw err;
      }
    }
    return undefined;
  }

  /** Like `consumer`, but an UNAVAILABLE error when none could be created. */
  async requireConsumer(filter: string, afterSeq: number): Promise<Consumer> {
    const consumer = await this.consumer(filter, afterSeq);
    if (consumer) return consumer;
    throw new TetherError(
      'UNAVAILABLE',
      `${this.stream} unavailable (read): no read consumer could be created in ${CONSUMER_TRIES} tries; retry shortly`,
    );
  }
}

/** A consumer's messages up to sequence `end` (none past it); the consumer is closed after. */
async function* consumeUntil(consumer: Consumer, end: number): AsyncIterable<RangeMessage> {
  const messages = await consumer.consume({ max_messages: 1024 });
  try {
    for await (const m of messages) {
      if (m.seq > end) break;
      yield m;
      if (m.seq >= end) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
}
