import { z } from 'zod';
import { PolicySource, PolicyTrigger } from '../entities/policy.ts';
import { PolicyRule } from '../policy.ts';

// The share policy over HTTP: what is in force (GET /v1/policy) and an operator's reload (POST /v1/policy/reload).

export const PolicyReloadBody = z.object({}).strict();

export const policyApplicationCommands = {
  reload: {
    data: PolicyReloadBody,
    summary:
      'Load the share policy file again (TETHER_SHARE_POLICY, else $TETHER_HOME/share-policy.json, else built in); a bad file keeps the policy in force and is refused with why',
  },
};

export const PolicyView = z.object({
  /** The file in force, or null for the built-in default. */
  file: z.string().nullable(),
  source: PolicySource,
  rule_ids: z.array(z.string()),
  rules: z.array(PolicyRule),
  trigger: PolicyTrigger,
  loaded_at: z.string(),
  /** The file whose changes reload the policy (the data folder's share-policy.json while none is set). */
  watching: z.string().nullable(),
  /** The last file refused (the policy in force stayed), if one was. */
  last_refusal: z
    .object({ at: z.string(), file: z.string().nullable(), trigger: PolicyTrigger, reason: z.string() })
    .nullable(),
});
export type PolicyView = z.infer<typeof PolicyView>;
