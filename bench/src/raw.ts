import { randomUUID } from 'node:crypto';
import { eventsStreamConfig } from '@tether/infra';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { cpuMeter } from './cpu.ts';
import { log, rate, windowed } from './timing.ts';

// The raw engine: what JetStream itself does with tether-sized messages, no tether code in the path.

export const RAW_STREAM = 'BENCH_RAW';
const RAW_SUBJECTS = 'bench.raw.>';

/** A stream configured exactly like TETHER_EVENTS, under another name and subject. */
export async function createRawStream(jsm: JetStreamManager): Promise<void> {
  await jsm.streams.add({ ...eventsStreamConfig(), name: RAW_STREAM, subjects: [RAW_SUBJECTS] });
}

/**
 * Publishes `n` copies of `payload` with a fresh msgID each (as tether does), round-robin over
 * 100 subjects, `window` at a time (1 = each publish awaited before the next). Returns publishes/s.
 */
export async function rawPublish(js: JetStreamClient, payload: Uint8Array, n: number, window: number): Promise<number> {
  const subjects = Array.from({ length: 100 }, (_, i) => `bench.raw.e${i}`);
  const ms = await windowed(n, window, async (i) => {
    const ack = await js.publish(subjects[i % subjects.length]!, payload, { msgID: randomUUID() });
    if (ack.duplicate) throw new Error(`raw publish ${i} was taken for a duplicate`);
  });
  return rate(n, ms);
}

/**
 * Reads `count` messages after stream seq `afterSeq` with an ordered consumer (one subject
 * filter, as nats-server 2.9 supports), touching only seq and payload length. Returns messages/s.
 */
export async function rawRead(
  js: JetStreamClient,
  stream: string,
  filter: string,
  afterSeq: number,
  count: number,
): Promise<{ perSec: number; bytes: number }> {
  const t0 = performance.now();
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter,
    ...(afterSeq > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 }
      : { deliver_policy: DeliverPolicy.All }),
  });
  const messages = await consumer.consume({ max_messages: 1024 });
  let n = 0;
  let bytes = 0;
  let lastSeq = afterSeq;
  try {
    for await (const m of messages) {
      if (m.seq <= lastSeq) throw new Error(`raw read: seq ${m.seq} after ${lastSeq}`);
      lastSeq = m.seq;
      bytes += m.data.length;
      if (++n >= count) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
  if (n !== count) throw new Error(`raw read ended after ${n} of ${count} messages`);
  return { perSec: rate(n, performance.now() - t0), bytes };
}

/** One awaited and one pipelined measurement, each after its warm-up, with the CPU each process spends per publish. */
export async function measureRawPublishes(
  js: JetStreamClient,
  payload: Uint8Array,
  n: { awaited: number; pipelined: number; window: number },
  pids: Record<string, number | undefined>,
) {
  log(`raw awaited publishes (${payload.length} B): warm-up, then ${n.awaited}`);
  await rawPublish(js, payload, 500, 1);
  let cpu = cpuMeter(pids);
  const awaitedPerSec = await rawPublish(js, payload, n.awaited, 1);
  const awaitedCpuMicros = cpu.microsPerOp(n.awaited);
  log(`raw pipelined publishes (${n.window} in flight): warm-up, then ${n.pipelined}`);
  await rawPublish(js, payload, 2_000, n.window);
  cpu = cpuMeter(pids);
  const pipelinedPerSec = await rawPublish(js, payload, n.pipelined, n.window);
  return { awaitedPerSec, pipelinedPerSec, awaitedCpuMicros, pipelinedCpuMicros: cpu.microsPerOp(n.pipelined) };
}
