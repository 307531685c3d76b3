import { describe, it } from 'vitest';
import { anEvent, reacting } from '@tether/machines/testing';
import { laneCleanup } from './lane-cleanup.reactor.ts';

const cleanup = anEvent('lane.cleanup', 'l1', { reason: 'done' });
const none = { terminals: [], sessions: [] };
const close = (id: string) => ({ entity: 'terminal', verb: 'close', entityId: id, data: { reason: 'lane cleanup' } });
const terminate = (id: string) => ({
  entity: 'session',
  verb: 'terminate',
  entityId: id,
  data: { reason: 'lane cleanup' },
});

describe('lane cleanup cascade', () => {
  it('closes the lane’s open terminals', () =>
    reacting(laneCleanup)
      .given(cleanup, {
        ...none,
        terminals: [
          { id: 't1', state: 'active' },
          { id: 't2', state: 'throttled' },
        ],
      })
      .then([close('t1'), close('t2')]));

  it('terminates the lane’s live sessions, after its terminals', () =>
    reacting(laneCleanup)
      .given(cleanup, { terminals: [{ id: 't1', state: 'spawning' }], sessions: [{ id: 's1', state: 'detached' }] })
      .then([close('t1'), terminate('s1')]));

  it('leaves closed terminals and terminated sessions alone', () =>
    reacting(laneCleanup)
      .given(cleanup, { terminals: [{ id: 't1', state: 'closed' }], sessions: [{ id: 's1', state: 'terminated' }] })
      .thenNothing());

  it('reacts to cleanup only', () =>
    reacting(laneCleanup)
      .given(anEvent('lane.attach', 'l1'), { ...none, terminals: [{ id: 't1', state: 'active' }] })
      .thenNothing());
});
