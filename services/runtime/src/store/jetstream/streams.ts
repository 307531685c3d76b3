import type { JetStreamManager, StoredMsg, StreamConfig } from '@nats-io/jetstream';
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

/**
 * One message of `stream`, or undefined when there is none. Through the stream leader, not a direct
 * get: in a cluster a direct get may be answered by a replica that lags, and these reads decide
 * where a history ends.
 */
export async function getStreamMessage(
  jsm: JetStreamManager,
  stream: string,
  query: { seq: number } | { last_by_subj: string },
): Promise<StoredMsg | undefined> {
  try {
    return (await jsm.streams.getMessage(stream, query)) ?? undefined;
  } catch (err) {
    if (isNoMessageFound(err)) return undefined;
    throw err;
  }
}
