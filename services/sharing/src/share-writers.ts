import { participantMayType } from '@tether/machines';
import { readActor } from '@tether/projector';
import type { ActorHost } from '@tether/runtime';
import { parseShareWriter } from './native-relay.ts';

/**
 * The terminal's own check of a participant's input (`from` = share:<share>:<participant>), on the
 * share as persisted rather than on any relay's copy: a revoke or an expired grant stops keystrokes
 * at once, whichever tether host runs the relay.
 */
export function shareWriteCheck(host: ActorHost) {
  return async (terminalId: string, from: string): Promise<boolean> => {
    const w = parseShareWriter(from);
    if (!w) return false;
    const s = await readActor(host, 'share', w.shareId);
    return (
      !!s && s.context.terminalId === terminalId && participantMayType(s.value, s.context, w.participantId, Date.now())
    );
  };
}
