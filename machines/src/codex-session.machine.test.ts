import { describe, it } from 'vitest';
import { codexSession } from './index.ts';
import { cmd, given } from './testing/index.ts';

const claim = (sessionId: string, laneId = 'l1') => cmd('claim', { laneId, sessionId });
const release = (sessionId: string) => cmd('release', { sessionId });

describe('codexSession', () => {
  it('a free id is claimed by a session of a lane', () =>
    given(codexSession)
      .when(claim('s1'))
      .then({ state: 'claimed', context: { laneId: 'l1', sessionId: 's1' } }));

  it('the same session claiming again changes nothing', () =>
    given(codexSession, claim('s1'))
      .when(claim('s1'))
      .then({ state: 'claimed', context: { sessionId: 's1' } }));

  it('another session cannot claim it, and is told who holds it', () =>
    given(codexSession, claim('s1'))
      .when(claim('s2', 'l2'))
      .thenRejected('CODEX_SESSION_IN_USE', /used by session s1 of lane l1; terminate it first/));

  it('its holder releases it', () =>
    given(codexSession, claim('s1'))
      .when(release('s1'))
      .then({ state: 'free', context: { laneId: undefined, sessionId: undefined } }));

  it('another session cannot release it', () =>
    given(codexSession, claim('s1'))
      .when(release('s2'))
      .thenRejected('NOT_HOLDER', /not held by that session/));

  it('a released id is free for the next session', () =>
    given(codexSession, claim('s1'), release('s1'))
      .when(claim('s2', 'l2'))
      .then({ context: { sessionId: 's2' } }));

  it('releasing a free id is refused', () =>
    given(codexSession, claim('s1'), release('s1')).when(release('s1')).thenRejected('NOT_HOLDER'));

  it('an id never claimed does not exist for release', () =>
    given(codexSession).when(release('s1')).thenRejected('NOT_FOUND'));
});
