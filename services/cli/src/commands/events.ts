import { subjects, type StoredEvent } from '@tether/contracts';
import { openStoreForClient } from '../store.ts';
import type { Out } from '../output.ts';

export const eventLine = (e: StoredEvent) =>
  `#${e.streamSeq} ${e.event.at} ${e.event.entity}/${e.event.entityId} v${e.event.seq} ${e.event.type} -> ${JSON.stringify(e.event.state)} by ${e.event.actor.kind}:${e.event.actor.id} corr=${e.event.correlationId}`;

/** `tether events tail [--entity E] [--from-seq N | --last N] [--no-follow]`: prints events as they are appended. */
export async function eventsTail(
  out: Out,
  flags: { entity?: string; 'from-seq'?: number; follow?: boolean; last?: number },
): Promise<number> {
  // --from-seq and --last arrive checked (whole numbers >= 1, command-table.ts).
  const store = await openStoreForClient();
  const ac = new AbortController();
  const abort = () => ac.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const filter = flags.entity ? subjects.entityEvents(flags.entity) : subjects.allEvents;
    const fromSeq = flags['from-seq'] ?? Math.max(1, (await store.lastStreamSeq()) - (flags.last ?? 10) + 1);
    const events =
      flags.follow === false
        ? store.readAll({ filter, afterStreamSeq: fromSeq - 1 })
        : store.follow({ filter, afterStreamSeq: fromSeq - 1, signal: ac.signal });
    for await (const e of events) out.line({ streamSeq: e.streamSeq, ...e.event }, eventLine(e));
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
    await store.close();
  }
  return 0;
}
