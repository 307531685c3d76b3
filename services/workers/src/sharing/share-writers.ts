import { participantMayType, type ShareContext } from '@tether/machines';
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
    const s = await host.state('share', w.shareId);
    return (
      !!s &&
      (s.context as ShareContext).terminalId === terminalId &&
      participantMayType(s.value, s.context as ShareContext, w.participantId, Date.now())
    );
  };
}
