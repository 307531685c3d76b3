import { describe, it } from 'vitest';
import { anEvent, reacting } from '@tether/machines/testing';
import { handoffApprovals, terminalHandoffs } from './handoff-saga.ts';

const carol = { kind: 'human' as const, id: 'carol' };

describe('handoff approvals', () => {
  it("an operator's approval lets the handoff go on", () =>
    reacting(handoffApprovals)
      .given(anEvent('approval.approve', 'h1', {}, { actor: carol }), { handoffId: 'h1' })
      .then([{ entity: 'handoff', verb: 'approved', entityId: 'h1', data: { approvalId: 'h1', by: 'human:carol' } }]));

  it('a denial says who and why; an expiry that nobody decided', () => {
    reacting(handoffApprovals)
      .given(anEvent('approval.deny', 'h1', { reason: 'not during the release' }, { actor: carol }), {
        handoffId: 'h1',
      })
      .then([
        {
          entity: 'handoff',
          verb: 'denied',
          entityId: 'h1',
          data: { approvalId: 'h1', reason: 'denied by human:carol: not during the release' },
        },
      ]);
    reacting(handoffApprovals)
      .given(anEvent('approval.expire', 'h1'), { handoffId: 'h1' })
      .then([
        {
          entity: 'handoff',
          verb: 'denied',
          entityId: 'h1',
          data: { approvalId: 'h1', reason: 'nobody approved the handoff in time' },
        },
      ]);
  });

  it("a share's approval is none of its business", () =>
    reacting(handoffApprovals).given(anEvent('approval.approve', 's1'), {}).thenNothing());
});

describe('terminals of handoffs', () => {
  const closed = (type: string) => anEvent(type, 't1', {}, { state: 'closed' });

  it('a closed terminal fails the handoff holding it', () =>
    reacting(terminalHandoffs)
      .given(closed('terminal.exited'), { handoffId: 'h1', closeReason: 'exited' })
      .then([{ entity: 'handoff', verb: 'failed', entityId: 'h1', data: { reason: 'terminal t1 closed (exited)' } }]));

  it('nothing for a terminal without a handoff, or one that did not close', () => {
    reacting(terminalHandoffs).given(closed('terminal.close'), {}).thenNothing();
    reacting(terminalHandoffs)
      .given(anEvent('terminal.throttle', 't1', {}, { state: 'throttled' }), { handoffId: 'h1' })
      .thenNothing();
  });
});
