import { describe, it } from 'vitest';
import { policy } from './index.ts';
import { cmd, given } from './testing/index.ts';

const load = (ruleIds: string[], trigger = 'start') =>
  cmd('loaded', { file: '/etc/tether/policy.json', source: 'setting', ruleIds, trigger });

describe('policy', () => {
  it('a load puts a policy in force; the next one replaces it', () =>
    given(policy, load(['a']))
      .when('loaded', { file: null, source: 'built-in', ruleIds: ['b'], trigger: 'command' })
      .then({
        state: 'loaded',
        context: { file: null, source: 'built-in', ruleIds: ['b'], trigger: 'command', loads: 2 },
      }));

  it('a refused file keeps the policy in force and says why', () =>
    given(policy, load(['a']))
      .when('refused', { file: '/etc/tether/policy.json', trigger: 'file-changed', reason: 'not JSON' })
      .then({
        state: 'loaded',
        context: { ruleIds: ['a'], lastRefusal: { reason: 'not JSON', trigger: 'file-changed' } },
      }));

  it('nothing to keep before the first load', () =>
    given(policy).when('refused', { file: null, trigger: 'start', reason: 'x' }).thenRejected('NOT_FOUND'));
});
