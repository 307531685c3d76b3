import type { JetStreamManager, MsgRequest, StoredMsg, StreamConfig } from '@nats-io/jetstream';
import { isNoMessageFound, isStreamNameInUse } from './errors.ts';

/** Creates the stream, or brings an existing one (perhaps with other limits) to `config`: safe at every start. */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if (!isStreamNameInUse(err)) throw err;
    await jsm.streams.update(config.name, config);
  }
}

/** By sequence, the last on a subject, or the first on a subject (wildcards work) at or after a sequence. */
export type StreamMessageQuery = { seq: number } | { last_by_subj: string } | { seq: number; next_by_subj: string };

/**
 * One message of `stream`, or undefined when there is none. Through the stream leader, not a direct
 * get: in a cluster a direct get may be answered by a replica that lags, and these reads decide
 * where a history ends.
 */
export async function getStreamMessage(
  jsm: JetStreamManager,
  stream: string,
  query: StreamMessageQuery,
): Promise<StoredMsg | undefined> {
  try {
    // nats.js types next_by_subj for direct gets only; the stream leader's MSG.GET takes it too (2.9+).
    return (await jsm.streams.getMessage(stream, query as MsgRequest)) ?? undefined;
  } catch (err) {
    if (isNoMessageFound(err)) return undefined;
    throw err;
  }
}
