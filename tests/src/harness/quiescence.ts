import { jetstreamManager } from '@nats-io/jetstream';
import { STREAM_EVENTS } from '@tether/contracts';
import type { JetStreamEventStore } from '@tether/runtime';

/**
 * Waits until tether is idle: every durable consumer of the event stream (projections, process
 * managers, reactors, the audit trail) has taken and acknowledged every event, and the stream did not
 * grow meanwhile. Returns the stream sequence it settled at; throws naming the busy consumers after
 * `timeoutMs`.
 */
export async function whenIdle(store: JetStreamEventStore, timeoutMs = 15_000): Promise<number> {
  const jsm = await jetstreamManager(store.nc);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const before = await store.lastStreamSeq();
    const busy: string[] = [];
    for await (const ci of jsm.consumers.list(STREAM_EVENTS)) {
      const waiting = ci.num_pending + ci.num_ack_pending;
      if (ci.config.durable_name && waiting > 0) busy.push(`${ci.name} (${waiting})`);
    }
    if (busy.length === 0 && (await store.lastStreamSeq()) === before) return before;
    if (Date.now() > until) throw new Error(`tether was not idle within ${timeoutMs} ms; busy: ${busy.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
