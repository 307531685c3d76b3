import type { NatsConnection } from '@nats-io/nats-core';
import { rate, windowed, oneAtATime, percentile } from './timing.ts';

const SUBJECT = 'bench.echo';

/**
 * NATS request/reply with a trivial responder on another connection: the transport a tether
 * command rides on, without tether. Request and reply have the sizes of a renew command and its reply.
 */
export async function echoRoundTrips(
  client: NatsConnection,
  responder: NatsConnection,
  sizes: { request: number; reply: number },
  n: { awaited: number; pipelined: number; window: number },
) {
  const reply = new Uint8Array(sizes.reply).fill(0x61);
  const request = new Uint8Array(sizes.request).fill(0x62);
  const sub = responder.subscribe(SUBJECT, { callback: (_err, m) => void m.respond(reply) });
  await responder.flush();
  const ask = () => client.request(SUBJECT, request, { timeout: 10_000 });
  try {
    await oneAtATime(500, ask); // warm-up
    const awaited = await oneAtATime(n.awaited, ask);
    await windowed(2_000, n.window, ask); // warm-up
    const pipelinedMs = await windowed(n.pipelined, n.window, ask);
    return {
      echoPerSec: rate(n.awaited, awaited.ms),
      echoP50Ms: percentile(awaited.latencies, 50),
      echoPipelinedPerSec: rate(n.pipelined, pipelinedMs),
    };
  } finally {
    sub.unsubscribe();
  }
}
