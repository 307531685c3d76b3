import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  invalid,
  PolicyFile,
  TetherError,
  type PolicyDecision,
  type ShareRequestFacts,
  actorRef,
} from '@tether/contracts';
import type { z } from 'zod';

type Rule = z.output<typeof PolicyFile>['rules'][number];
type Matcher = (value: string) => boolean;

interface CompiledRule {
  rule: Rule;
  matches: (f: ShareRequestFacts) => boolean;
}

/**
 * Deny by default: a share or handoff is allowed only if an allow rule for that action matches and no deny rule does. Deny beats
 * approval beats allow; the decision names the rule that decided and why, for the audit trail.
 */
export class PolicyGate {
  private readonly rules: CompiledRule[];

  /**
   * @param digest sha256 of the file's text, when read from one: a watched file that changed nothing
   *   (an editor's save of the same text) is not loaded again.
   */
  constructor(
    file: PolicyFile,
    readonly digest?: string,
  ) {
    const parsed = PolicyFile.safeParse(file);
    if (!parsed.success) {
      throw invalid(`invalid share policy`, parsed.error);
    }
    this.rules = parsed.data.rules.map(compile);
  }

  static fromFile(path: string): PolicyGate {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new TetherError(
        'NOT_FOUND',
        `share policy ${path} cannot be read: ${(err as Error).message}; without a policy every share is denied`,
      );
    }
    return PolicyGate.fromText(path, text);
  }

  /** The policy in `text`, read from `path` (named in every error). */
  static fromText(path: string, text: string): PolicyGate {
    try {
      return new PolicyGate(JSON.parse(text) as PolicyFile, createHash('sha256').update(text).digest('hex'));
    } catch (err) {
      if (err instanceof TetherError)
        throw new TetherError(err.code, `${path}: ${err.message}`, { issues: err.issues });
      throw new TetherError('INVALID_COMMAND', `share policy ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }

  get size() {
    return this.rules.length;
  }

  /** The rules as parsed (defaults filled in), in file order. */
  get ruleList(): Rule[] {
    return this.rules.map((r) => r.rule);
  }

  decide(f: ShareRequestFacts): PolicyDecision {
    let approval: Rule | undefined;
    let allow: Rule | undefined;
    for (const { rule, matches } of this.rules) {
      if (!matches(f)) continue;
      if (rule.effect === 'deny')
        return { effect: 'deny', ruleId: rule.id, reason: rule.reason ?? `denied by rule ${rule.id}` };
      if (rule.requireApproval) approval ??= rule;
      else allow ??= rule;
    }
    if (approval)
      return {
        effect: 'approval',
        ruleId: approval.id,
        reason: approval.reason ?? `rule ${approval.id} allows it after an operator approves`,
      };
    if (allow) return { effect: 'allow', ruleId: allow.id, reason: allow.reason ?? `allowed by rule ${allow.id}` };
    return { effect: 'deny', ruleId: null, reason: noRule(f) };
  }
}

function noRule(f: ShareRequestFacts): string {
  if (f.action === 'handoff')
    return `no rule allows ${actorRef(f.actor)} to hand terminal ${f.terminalId} (lane ${f.laneId}) to ${f.to ? actorRef(f.to) : 'anyone'}; handoffs are denied by default (add an allow rule with "actions": ["handoff"] to the share policy file, TETHER_SHARE_POLICY)`;
  return `no rule allows ${actorRef(f.actor)} to share terminal ${f.terminalId} (lane ${f.laneId}) ${f.access === 'write' ? 'read-write' : 'read-only'} over ${f.backend}; shares are denied by default (add an allow rule to the share policy file, TETHER_SHARE_POLICY)`;
}

function compile(rule: Rule): CompiledRule {
  const checks: ((f: ShareRequestFacts) => boolean)[] = [];
  const add = (patterns: string[] | undefined, pick: (f: ShareRequestFacts) => string) => {
    if (!patterns) return;
    const m = anyOf(patterns.map(matcher));
    checks.push((f) => m(pick(f)));
  };
  const actions = new Set(rule.actions ?? ['share']);
  checks.push((f) => actions.has(f.action ?? 'share'));
  add(rule.actors, (f) => actorRef(f.actor));
  add(rule.to, (f) => (f.to ? actorRef(f.to) : ''));
  add(rule.terminals, (f) => f.terminalId);
  add(rule.lanes, (f) => f.laneId);
  // A handoff has no backend: a rule about backends is about shares.
  add(rule.backends, (f) => f.backend ?? '');
  add(rule.access, (f) => f.access);
  return { rule, matches: (f) => checks.every((c) => c(f)) };
}

function matcher(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (v) => v.startsWith(prefix);
  }
  return (v) => v === pattern;
}

const anyOf =
  (ms: Matcher[]): Matcher =>
  (v) =>
    ms.some((m) => m(v));
