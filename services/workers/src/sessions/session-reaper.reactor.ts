import { defineReactor, type SessionContext } from '@tether/machines';

/** The terminated session as the reaper needs it; undefined when the event is not a terminate or the session is unknown. */
export type ReapedSession = (Pick<SessionContext, 'laneId' | 'codexSessionId'> & { id: string }) | undefined;

/** When a session terminates, its lane and its codex session id become free again. */
export const sessionReaper = defineReactor<ReapedSession>({
  name: 'sessions',
  filter: 'tether.evt.session.*',
  react(event, session) {
    if (event.type !== 'session.terminate' || !session) return [];
    const data = { sessionId: session.id };
    return [
      { entity: 'lane', verb: 'unbindSession', entityId: session.laneId, data },
      { entity: 'codexSession', verb: 'release', entityId: session.codexSessionId, data },
    ];
  },
});
