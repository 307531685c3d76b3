import type { PolicyFile, ShareRequestFacts } from '@tether/contracts';
import { PolicyGate } from '@tether/sharing';
import { percentile } from './timing.ts';

/** One policy decision at 500 rules, the worst case: the matching rule is the last one scanned. */
export function measurePolicyDecision(rules = 500, decisions = 20_000) {
  const file: PolicyFile = {
    rules: [
      ...Array.from({ length: rules - 1 }, (_, i) => ({
        id: `r${i}`,
        effect: 'allow' as const,
        actors: [`human:user-${i}`],
        lanes: [`lane-${i}*`],
        backends: ['native' as const, 'tmate' as const],
      })),
      { id: 'last', effect: 'allow' as const, actors: ['human:alice'], access: ['read' as const] },
    ],
  };
  const gate = new PolicyGate(file);
  const facts: ShareRequestFacts = {
    actor: { kind: 'human', id: 'alice' },
    terminalId: 't-1',
    laneId: 'lane-x',
    backend: 'native',
    access: 'read',
  };
  for (let i = 0; i < 2_000; i++) gate.decide(facts); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < decisions; i++) {
    const t0 = performance.now();
    if (gate.decide(facts).ruleId !== 'last') throw new Error('policy bench: wrong decision');
    ms.push(performance.now() - t0);
  }
  return { policyDecisionP50Ms: percentile(ms, 50), policyDecisionP95Ms: percentile(ms, 95), policyRules: rules };
}
