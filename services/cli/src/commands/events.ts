import { subjects, type StoredEvent } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { openStoreForClient } from '../store.ts';
import type { Out } from '../output.ts';

export const eventLine = (e: StoredEvent) =>
  `#${e.streamSeq} ${e.event.at} ${e.event.entity}/${e.event.entityId} v${e.event.seq} ${e.event.type} -> ${JSON.stringify(e.event.state)} by ${e.event.actor.kind}:${e.event.actor.id} corr=${e.event.correlationId}`;

/** `tether events tail [--entity E] [--from-seq N] [--no-follow]`: prints events as they are appended. */
export async function eventsTail(
  out: Out,
  flags: { entity?: string; 'from-seq'?: string; follow?: boolean; last?: string },
): Promise<number> {
  const store = await openStoreForClient();
  const filter = flags.entity ? subjects.entityEvents(flags.entity) : subjects.allEvents;
  const head = await store.lastStreamSeq();
  const fromSeq =
    flags['from-seq'] !== undefined ? Number(flags['from-seq']) : Math.max(1, head - Number(flags.last ?? 10) + 1);
  if (!Number.isInteger(fromSeq) || fromSeq < 1)
    throw new TetherError('INVALID_COMMAND', '--from-seq takes a stream sequence >= 1');
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  try {
    const events =
      flags.follow === false
        ? store.readAll({ filter, afterStreamSeq: fromSeq - 1 })
        : store.follow({ filter, afterStreamSeq: fromSeq - 1, signal: ac.signal });
    for await (const e of events) out.line({ streamSeq: e.streamSeq, ...e.event }, eventLine(e));
  } finally {
    await store.close();
  }
  return 0;
}
