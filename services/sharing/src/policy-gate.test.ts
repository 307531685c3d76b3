import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TetherError, type PolicyFile, type ShareRequestFacts } from '@tether/contracts';
import { PolicyGate } from './policy-gate.ts';
import { loadPolicy } from './share-policy.ts';

const req = (over: Partial<ShareRequestFacts> = {}): ShareRequestFacts => ({
  actor: { kind: 'human', id: 'alice' },
  terminalId: 't-1',
  laneId: 'lane-a',
  backend: 'native',
  access: 'read',
  ...over,
});

describe('share policy gate', () => {
  it('denies by default, saying what was asked', () => {
    const d = new PolicyGate({ rules: [] }).decide(req());
    expect(d).toEqual({
      effect: 'deny',
      ruleId: null,
      reason:
        'no rule allows human:alice to share terminal t-1 (lane lane-a) read-only over native; shares are denied by default (add an allow rule to the share policy file, TETHER_SHARE_POLICY)',
    });
  });

  it('without a policy file people may share read-only, and write-capable on the native relay only; agents and services are denied', () => {
    const gate = loadPolicy(undefined, mkdtempSync(join(tmpdir(), 'tether-nopolicy-'))).gate;
    expect(gate.decide(req())).toMatchObject({ effect: 'allow', ruleId: 'default-humans-read' });
    expect(gate.decide(req({ backend: 'tmate' })).effect).toBe('allow');
    // Write there means per-person grants that expire; tmate and upterm have none.
    expect(gate.decide(req({ access: 'write' }))).toMatchObject({
      effect: 'allow',
      ruleId: 'default-humans-write-native',
    });
    expect(gate.decide(req({ access: 'write', backend: 'tmate' }))).toMatchObject({
      effect: 'deny',
      reason: expect.stringContaining('read-write'),
    });
    expect(gate.decide(req({ access: 'write', actor: { kind: 'ai', id: 'codex' } })).effect).toBe('deny');
    expect(gate.decide(req({ actor: { kind: 'ai', id: 'codex' } })).effect).toBe('deny');
    expect(gate.decide(req({ actor: { kind: 'service', id: 'ci' } })).effect).toBe('deny');
  });

  it('matches on actor, terminal, lane, backend and access; absent selectors match anything', () => {
    const gate = new PolicyGate({
      rules: [
        { id: 'ops-read', effect: 'allow', actors: ['human:*'], access: ['read'] },
        {
          id: 'alice-write-native',
          effect: 'allow',
          actors: ['human:alice'],
          backends: ['native'],
          access: ['write'],
          lanes: ['lane-*'],
        },
      ],
    });
    expect(gate.decide(req()).ruleId).toBe('ops-read');
    expect(gate.decide(req({ access: 'write' }))).toMatchObject({ effect: 'allow', ruleId: 'alice-write-native' });
    expect(gate.decide(req({ access: 'write', backend: 'tmate' })).effect).toBe('deny');
    expect(gate.decide(req({ access: 'write', laneId: 'other' })).effect).toBe('deny');
    expect(gate.decide(req({ actor: { kind: 'ai', id: 'codex' } })).effect).toBe('deny');
  });

  it('deny beats approval beats allow, whatever the order of the rules', () => {
    const rules: PolicyFile['rules'] = [
      { id: 'allow-all', effect: 'allow' },
      {
        id: 'ai-needs-approval',
        effect: 'allow',
        actors: ['ai:*'],
        requireApproval: true,
        reason: 'an operator approves AI shares',
      },
      { id: 'no-upterm', effect: 'deny', backends: ['upterm'], reason: 'upterm is not allowed here' },
    ];
    for (const order of [rules, [...rules].reverse()]) {
      const gate = new PolicyGate({ rules: order });
      expect(gate.decide(req())).toMatchObject({ effect: 'allow', ruleId: 'allow-all' });
      expect(gate.decide(req({ actor: { kind: 'ai', id: 'codex' } }))).toEqual({
        effect: 'approval',
        ruleId: 'ai-needs-approval',
        reason: 'an operator approves AI shares',
      });
      expect(gate.decide(req({ actor: { kind: 'ai', id: 'codex' }, backend: 'upterm' }))).toEqual({
        effect: 'deny',
        ruleId: 'no-upterm',
        reason: 'upterm is not allowed here',
      });
    }
  });

  it('refuses a bad policy file with a clear error instead of guessing', () => {
    const bad = (rules: unknown) => () => new PolicyGate({ rules } as PolicyFile);
    expect(bad([{ id: 'x', effect: 'permit' }])).toThrow(/rules\.0\.effect/);
    expect(bad([{ id: 'x', effect: 'deny', requireApproval: true }])).toThrow(
      /requireApproval only makes sense on an allow rule/,
    );
    expect(bad([{ id: 'x', effect: 'allow', actors: ['hu*man'] }])).toThrow(/prefix ending in "\*"/);
    expect(
      bad([
        { id: 'x', effect: 'allow' },
        { id: 'x', effect: 'deny' },
      ]),
    ).toThrow(/rule ids must be unique/);
    const dir = mkdtempSync(join(tmpdir(), 'tether-policy-'));
    writeFileSync(join(dir, 'broken.json'), '{ "rules": [');
    const err = (() => {
      try {
        PolicyGate.fromFile(join(dir, 'broken.json'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TetherError);
    expect((err as TetherError).message).toMatch(/broken\.json is not valid JSON/);
    expect(() => PolicyGate.fromFile(join(dir, 'missing.json'))).toThrow(
      /cannot be read.*without a policy every share is denied/,
    );
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ rules: [{ id: 'r', effect: 'allow', access: ['read'] }] }));
    expect(PolicyGate.fromFile(join(dir, 'ok.json')).decide(req()).effect).toBe('allow');
  });

  it('scans 500 rules and finds the one that matches (the benchmark times it)', () => {
    const rules: PolicyFile['rules'] = Array.from({ length: 499 }, (_, i) => ({
      id: `r${i}`,
      effect: 'allow' as const,
      actors: [`human:user-${i}`],
      lanes: [`lane-${i}*`],
    }));
    rules.push({ id: 'last', effect: 'allow', actors: ['human:alice'] });
    const gate = new PolicyGate({ rules });
    expect(gate.size).toBe(500);
    expect(gate.decide(req()).ruleId).toBe('last');
    expect(gate.decide(req({ actor: { kind: 'human', id: 'user-7' }, laneId: 'lane-7b' })).ruleId).toBe('r7');
    expect(gate.decide(req({ actor: { kind: 'human', id: 'user-7' }, laneId: 'lane-8' })).effect).toBe('deny');
  });

  describe('handoffs', () => {
    const handoff = (to: string, actor = 'human:alice'): ShareRequestFacts => {
      const [tk, ti] = to.split(':') as [string, string];
      const [ak, ai] = actor.split(':') as [string, string];
      return {
        action: 'handoff',
        actor: { kind: ak, id: ai },
        to: { kind: tk, id: ti },
        terminalId: 't-1',
        laneId: 'lane-a',
        access: 'write',
      };
    };

    it('a rule without "actions" is about shares only: an old policy file hands no keyboard to anyone', () => {
      const gate = new PolicyGate({ rules: [{ id: 'allow-all', effect: 'allow' }] });
      expect(gate.decide(req()).effect).toBe('allow');
      expect(gate.decide(handoff('ai:codex'))).toEqual({
        effect: 'deny',
        ruleId: null,
        reason:
          'no rule allows human:alice to hand terminal t-1 (lane lane-a) to ai:codex; handoffs are denied by default (add an allow rule with "actions": ["handoff"] to the share policy file, TETHER_SHARE_POLICY)',
      });
    });

    it('"to" matches the receiver, "actors" the requester; a rule about backends is about shares', () => {
      const gate = new PolicyGate({
        rules: [
          {
            id: 'to-agents',
            effect: 'allow',
            actions: ['handoff'],
            actors: ['human:*'],
            to: ['ai:*'],
            requireApproval: true,
          },
          { id: 'to-people', effect: 'allow', actions: ['handoff', 'share'], to: ['human:*'] },
          { id: 'no-tmate', effect: 'deny', actions: ['share', 'handoff'], backends: ['tmate'] },
        ],
      });
      expect(gate.decide(handoff('ai:codex'))).toMatchObject({ effect: 'approval', ruleId: 'to-agents' });
      expect(gate.decide(handoff('human:bob', 'ai:codex'))).toMatchObject({ effect: 'allow', ruleId: 'to-people' });
      expect(gate.decide(handoff('ai:other', 'ai:codex')).effect).toBe('deny');
      expect(gate.decide(handoff('service:ci')).effect).toBe('deny');
      expect(gate.decide(req({ backend: 'tmate' }))).toMatchObject({ effect: 'deny', ruleId: 'no-tmate' });
    });

    it('without a policy file: to a person at once, to an agent with approval, to a service never', () => {
      const gate = loadPolicy(undefined, mkdtempSync(join(tmpdir(), 'tether-nopolicy-'))).gate;
      expect(gate.decide(handoff('human:bob'))).toMatchObject({ effect: 'allow', ruleId: 'default-handoff-to-people' });
      expect(gate.decide(handoff('human:bob', 'ai:codex')).effect).toBe('allow');
      expect(gate.decide(handoff('ai:codex'))).toMatchObject({
        effect: 'approval',
        ruleId: 'default-handoff-to-agents',
      });
      expect(gate.decide(handoff('ai:codex', 'ai:other')).effect).toBe('deny');
      expect(gate.decide(handoff('service:ci')).effect).toBe('deny');
    });
  });
});
