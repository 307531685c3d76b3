import { z } from 'zod';

// The share policy file (deny by default): who may share which terminal, how, who may hand its
// keyboard to whom, and whether an operator must approve first.

export const ShareBackend = z.enum(['native', 'tmate', 'upterm']);
export const AccessMode = z.enum(['read', 'write']);

/** A selector value: exact, or a prefix ending in "*" ("*" alone matches anything). */
const Pattern = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^*]*\*?$/, 'use an exact value or a prefix ending in "*"');

/** What a rule is about: sharing a terminal, or handing its keyboard to another actor. */
export const PolicyAction = z.enum(['share', 'handoff']);
export type PolicyAction = z.infer<typeof PolicyAction>;

export const PolicyRule = z
  .object({
    id: z.string().min(1).max(128),
    effect: z.enum(['allow', 'deny']),
    /** Absent: shares only (rules written before handoffs existed meant shares). */
    actions: z.array(PolicyAction).min(1).optional(),
    /** "kind:id" patterns, e.g. "human:alice", "ai:*". Absent: any actor. */
    actors: z.array(Pattern).min(1).optional(),
    /** Handoffs: "kind:id" patterns of the receiver. Absent: any receiver. */
    to: z.array(Pattern).min(1).optional(),
    terminals: z.array(Pattern).min(1).optional(),
    lanes: z.array(Pattern).min(1).optional(),
    backends: z.array(ShareBackend).min(1).optional(),
    access: z.array(AccessMode).min(1).optional(),
    /** An allow that needs an operator's approval first. */
    requireApproval: z.boolean().default(false),
    reason: z.string().max(1_000).optional(),
  })
  .strict()
  .refine((r) => !(r.effect === 'deny' && r.requireApproval), {
    message: 'requireApproval only makes sense on an allow rule',
    path: ['requireApproval'],
  });

export const PolicyFile = z
  .object({ rules: z.array(PolicyRule).max(10_000) })
  .strict()
  .refine((p) => new Set(p.rules.map((r) => r.id)).size === p.rules.length, {
    message: 'rule ids must be unique',
    path: ['rules'],
  });
export type PolicyFile = z.input<typeof PolicyFile>;

/** What the policy decides on: a share (backend, access) or a handoff (to whom; it grants the keyboard). */
export interface ShareRequestFacts {
  /** Default "share". */
  action?: PolicyAction;
  actor: { kind: string; id: string };
  terminalId: string;
  laneId: string;
  /** Shares only. */
  backend?: z.infer<typeof ShareBackend>;
  access: z.infer<typeof AccessMode>;
  /** Handoffs: the receiver. */
  to?: { kind: string; id: string };
}

export type PolicyDecision =
  | { effect: 'allow'; ruleId: string; reason: string }
  | { effect: 'approval'; ruleId: string; reason: string }
  | { effect: 'deny'; ruleId: string | null; reason: string };
