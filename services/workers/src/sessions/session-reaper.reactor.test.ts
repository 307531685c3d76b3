import { describe, it } from 'vitest';
import { anEvent, reacting } from '@tether/machines/testing';
import { sessionReaper } from './session-reaper.reactor.ts';

const session = { id: 's1', laneId: 'l1', codexSessionId: 'c1' };

describe('session reaper', () => {
  it('a terminated session frees its lane and its codex session id', () =>
    reacting(sessionReaper)
      .given(anEvent('session.terminate', 's1', { reason: 'done' }), session)
      .then([
        { entity: 'lane', verb: 'unbindSession', entityId: 'l1', data: { sessionId: 's1' } },
        { entity: 'codexSession', verb: 'release', entityId: 'c1', data: { sessionId: 's1' } },
      ]));

  it('other session events free nothing', () =>
    reacting(sessionReaper).given(anEvent('session.heartbeat', 's1'), session).thenNothing());

  it('a session it cannot read frees nothing', () =>
    reacting(sessionReaper).given(anEvent('session.terminate', 's1'), undefined).thenNothing());
});
