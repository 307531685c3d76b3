import { describe, expect, it } from 'vitest';
import { ENVELOPE_VERSION } from '@tether/contracts';
import { defineEntity } from './entity.ts';
import { codexSession, lane, lease } from './index.ts';
import { at, cmd, given, MIN } from './testing/index.ts';

const create = cmd('create', { holder: 'ann', ttlMs: MIN });

describe('decide', () => {
  it('a verb on an entity that does not exist yet is NOT_FOUND', () =>
    given(lease).when('renew').thenRejected('NOT_FOUND', 'lease lease-1 does not exist'));

  it('a creating verb on an entity that exists is ALREADY_EXISTS, with its version', () =>
    given(lease, create)
      .when(create)
      .thenRejected('ALREADY_EXISTS', /exists already \(version 1\); pick another id/));

  it('an upsert verb applies to a new entity and an existing one alike', () => {
    given(codexSession).when('claim', { laneId: 'l1', sessionId: 's1' }).then('claimed');
    given(codexSession, cmd('claim', { laneId: 'l1', sessionId: 's1' }))
      .when('claim', { laneId: 'l1', sessionId: 's1' })
      .then('claimed');
  });

  it('the event carries the command: type, data, actor, time, ids and the state it leads to', () =>
    given(lease, create)
      .when('renew', { ttlMs: 5_000 }, { at: 7, by: 'ai:agent' })
      .then({
        event: {
          ...{ id: 'evt-2', type: 'lease.renew', entity: 'lease', entityId: 'lease-1', seq: 2, at: at(7) },
          ...{ actor: { kind: 'ai', id: 'agent' }, data: { ttlMs: 5_000 }, state: 'held', v: ENVELOPE_VERSION },
          ...{ correlationId: 'corr-2', causationId: 'cmd-2' },
        },
      }));

  it('a refusal the machine has no reason for names the state and the verb', () =>
    given(
      lane,
      cmd('create', { workspaceId: 'ws', projectContextId: 'p', displayName: 'L' }),
      cmd('provisioned', { worktreePath: '/w', branch: 'b' }),
    )
      .when('unblock')
      .thenRejected('INVALID_STATE', 'lane lane-1 is "ready"; unblock is not possible in that state'));

  it('a refusal is a plain value: code, reason and message', () => {
    const { decision } = given(lease, create).when('expire', {}, { at: 1 });
    expect(decision).toEqual({ code: 'NOT_ALLOWED', reason: 'LEASE_NOT_DUE', message: expect.any(String) });
  });
});

describe('rejection tables', () => {
  it('a table that names a guard or state its machine lacks fails at definition', () =>
    expect(() =>
      defineEntity({
        ...lease,
        rejections: {
          guards: { notDu: () => ({ reason: 'X', message: '' }) },
          states: { gone: () => ({ reason: 'Y', message: '' }) },
        },
      }),
    ).toThrow(/lease: rejections name what the machine lacks: notDu, gone/));
});
