import { describe, it } from 'vitest';
import { anEvent, reacting } from '@tether/machines/testing';
import { approvalDecisions, shareLifecycle, terminalShares } from './share-saga.ts';

const bo = { kind: 'human' as const, id: 'bo' };
const held = { policy: { ruleId: 'prod', reason: 'prod needs an ok' } };

describe('shareLifecycle', () => {
  it('asks for an approval when a rule holds the share', () =>
    reacting(shareLifecycle)
      .given(anEvent('share.request', 's1', held, { state: 'awaitingApproval' }), { approvalTimeoutMs: 60_000 })
      .then([
        {
          entity: 'approval',
          verb: 'request',
          entityId: 's1',
          data: {
            shareId: 's1',
            requestedBy: { kind: 'human', id: 'ann' },
            ruleId: 'prod',
            reason: 'prod needs an ok',
            timeoutMs: 60_000,
          },
        },
      ]));

  it('asks nothing for a share the policy let through', () =>
    reacting(shareLifecycle)
      .given(anEvent('share.request', 's1', held, { state: 'starting' }), { approvalTimeoutMs: 60_000 })
      .thenNothing());

  it('frees the terminal slot of a share that ended', () =>
    reacting(shareLifecycle)
      .given(anEvent('share.revoke', 's1', {}, { state: 'ended' }), { approvalTimeoutMs: 1, terminalId: 't1' })
      .then([{ entity: 'terminal', verb: 'shareClose', entityId: 't1', data: { shareId: 's1' } }]));
});

describe('approvalDecisions', () => {
  it('tells the share it was approved, and by whom', () =>
    reacting(approvalDecisions)
      .given(anEvent('approval.approve', 's1', {}, { actor: bo }), { shareId: 's1' })
      .then([{ entity: 'share', verb: 'approved', entityId: 's1', data: { approvalId: 's1', by: 'human:bo' } }]));

  it('rejects the share with the reason of a denial', () =>
    reacting(approvalDecisions)
      .given(anEvent('approval.deny', 's1', { reason: 'not now' }, { actor: bo }), { shareId: 's1' })
      .then([
        {
          entity: 'share',
          verb: 'rejected',
          entityId: 's1',
          data: { approvalId: 's1', reason: 'denied by human:bo: not now' },
        },
      ]));

  it('rejects the share when nobody decided in time', () =>
    reacting(approvalDecisions)
      .given(anEvent('approval.expire', 's1'), { shareId: 's1' })
      .then([
        {
          entity: 'share',
          verb: 'rejected',
          entityId: 's1',
          data: { approvalId: 's1', reason: 'nobody approved the share in time' },
        },
      ]));

  it('does nothing for an approval that does not exist', () =>
    reacting(approvalDecisions).given(anEvent('approval.approve', 's1'), {}).thenNothing());
});

describe('terminalShares', () => {
  it('ends every share of a closed terminal once', () =>
    reacting(terminalShares)
      .given(anEvent('terminal.close', 't1', {}, { state: 'closed' }), {
        shares: ['s1', 's2', 's1'],
        closeReason: 'lane cleanup',
      })
      .then(
        ['s1', 's2'].map((id) => ({
          entity: 'share',
          verb: 'terminate',
          entityId: id,
          data: { reason: 'terminal t1 closed (lane cleanup)' },
        })),
      ));

  it('leaves shares alone while the terminal runs', () =>
    reacting(terminalShares)
      .given(anEvent('terminal.throttle', 't1', {}, { state: 'throttled' }), { shares: ['s1'] })
      .thenNothing());
});
