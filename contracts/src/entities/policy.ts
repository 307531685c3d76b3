import { z } from 'zod';
import { freeText } from '../free-text.ts';
import { Iso } from '../ids.ts';
import type { EntityContract } from './contract.ts';

// The share policy a tether decides shares and handoffs by: one entity per installation, whose events
// say which file was loaded (or refused), when, why and by whom, so every change of policy is audited.

/** Where the policy came from: TETHER_SHARE_POLICY, $TETHER_HOME/share-policy.json, or tether's built-in default. */
export const PolicySource = z.enum(['setting', 'data-folder', 'built-in']);
export type PolicySource = z.infer<typeof PolicySource>;
/** What made tether (re)load it: its start, a change of the file it watches, or an operator's `policy.reload`. */
export const PolicyTrigger = z.enum(['start', 'file-changed', 'command']);
export type PolicyTrigger = z.infer<typeof PolicyTrigger>;

const loaded = z
  .object({
    /** The file, or null for the built-in default. */
    file: z.string().max(4_096).nullable(),
    source: PolicySource,
    ruleIds: z.array(z.string().max(128)).max(10_000),
    trigger: PolicyTrigger,
  })
  .strict();

export const policyContract = {
  loaded: {
    upsert: true,
    internal: true,
    summary: 'The policy now in force: its file (null: built in), where it came from and its rule ids',
    data: loaded,
  },
  refused: {
    internal: true,
    summary: 'A policy file that could not be loaded: the one in force stays, and this says why',
    data: z
      .object({ file: z.string().max(4_096).nullable(), trigger: PolicyTrigger, reason: freeText(2_000).min(1) })
      .strict(),
  },
} satisfies EntityContract;

export const PolicyContext = z.object({
  file: z.string().nullable(),
  source: PolicySource,
  ruleIds: z.array(z.string()),
  trigger: PolicyTrigger,
  loadedAt: Iso,
  loads: z.number().int(),
  lastRefusal: z
    .object({ at: Iso, file: z.string().nullable(), trigger: PolicyTrigger, reason: z.string() })
    .optional(),
});
export type PolicyContext = z.infer<typeof PolicyContext>;
