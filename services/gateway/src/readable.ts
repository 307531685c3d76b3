import { redact, type StoredEvent } from '@tether/contracts';
import { actorOf } from '@tether/projector';
import type { SavedActor } from '@tether/runtime';

/**
 * An actor as every read shows it (entity routes, the live stream, replays): never a participant's
 * token hash, a share's sealed backend links, a live session's sealed read-only links or a credential's hash.
 */
export function readable(a: SavedActor): SavedActor {
  if (a.entity === 'credential') {
    const { hash: _hash, ...context } = a.context as Record<string, unknown>;
    return { ...a, context };
  }
  if (a.entity === 'liveSession') {
    const { sealedReadOnly: _sealed, ...context } = a.context as Record<string, unknown>;
    return { ...a, context };
  }
  if (a.entity !== 'share') return a;
  const { sealedLinks: _sealed, participants = {}, ...context } = actorOf('share', a).context;
  const safe = Object.fromEntries(Object.entries(participants).map(([id, { tokenHash: _hash, ...p }]) => [id, p]));
  return { ...a, context: { ...context, participants: safe } };
}

/** An event as the entity routes show it: its data redacted like the audit trail's. */
export const readableEvent = (e: StoredEvent) => ({ streamSeq: e.streamSeq, ...e.event, data: redact(e.event.data) });
