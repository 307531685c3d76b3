import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  connectNats,
  ensureStream,
  getStreamMessage,
  isConsumerNotFound,
  isStreamNameInUse,
  isStreamNotFound,
  isWrongLastSequence,
} from '@tether/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '../harness/nats-server.ts';

let nats: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connectNats(nats.url, { name: 'streams-test' });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc.close();
  await nats.dispose();
});

const config = (name: string, duplicateWindowMs: number) => ({
  name,
  subjects: [`${name.toLowerCase()}.>`],
  duplicate_window: duplicateWindowMs * 1_000_000,
  max_msgs: -1,
});

describe('ensureStream', () => {
  it('creates the stream, and brings an existing one with other settings to the declared config', async () => {
    await ensureStream(jsm, config('ENSURE_A', 60_000));
    await ensureStream(jsm, config('ENSURE_A', 60_000)); // the same again: nothing to do
    await jsm.streams.update('ENSURE_A', { ...config('ENSURE_A', 60_000), max_msgs: 5 }); // drifted elsewhere
    await ensureStream(jsm, config('ENSURE_A', 90_000));
    const info = await jsm.streams.info('ENSURE_A');
    expect(info.config).toMatchObject({ duplicate_window: 90_000 * 1_000_000, max_msgs: -1 });
  });
});

describe('the JetStream error table names what nats-server answers', () => {
  it('stream name in use with another configuration', async () => {
    await jsm.streams.add(config('ENSURE_B', 60_000));
    const err = await jsm.streams.add(config('ENSURE_B', 30_000)).catch((e: unknown) => e);
    expect(isStreamNameInUse(err)).toBe(true);
  });

  it('stream not found, consumer not found, no message found', async () => {
    expect(isStreamNotFound(await jsm.streams.info('NO_SUCH_STREAM').catch((e: unknown) => e))).toBe(true);
    await jsm.streams.add(config('ENSURE_C', 60_000));
    expect(isConsumerNotFound(await jsm.consumers.info('ENSURE_C', 'nobody').catch((e: unknown) => e))).toBe(true);
    expect(await getStreamMessage(jsm, 'ENSURE_C', { seq: 7 })).toBeUndefined();
    expect(await getStreamMessage(jsm, 'ENSURE_C', { last_by_subj: 'ensure_c.x' })).toBeUndefined();
  });

  it('wrong last sequence on an expected subject sequence', async () => {
    await jsm.streams.add(config('ENSURE_D', 60_000));
    const js = jetstream(nc);
    await js.publish('ensure_d.x', 'one', { expect: { lastSubjectSequence: 0 } });
    const err = await js.publish('ensure_d.x', 'two', { expect: { lastSubjectSequence: 0 } }).catch((e: unknown) => e);
    expect(isWrongLastSequence(err)).toBe(true);
    expect((await getStreamMessage(jsm, 'ENSURE_D', { last_by_subj: 'ensure_d.x' }))?.seq).toBe(1);
  });
});
