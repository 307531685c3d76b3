import { assertAllowed, PolicyReloadBody } from '@tether/contracts';
import { commandFrom, parseBody, principalOf, type Dispatcher, type Routes } from '@tether/runtime';
import type { SharePolicy } from './share-policy.ts';

/** GET /v1/policy and POST /v1/policy/reload: operators only (rule operators-manage-policy). */
export function policyRoutes(policy: SharePolicy, dispatcher: Dispatcher): Routes {
  return {
    'policy.get': async (req) => {
      assertAllowed({ principal: principalOf(req), entity: 'policy', verb: 'read' });
      return policy.view();
    },
    'policy.reload': async (req) => {
      const data = parseBody(PolicyReloadBody, req.body);
      await dispatcher.accept(commandFrom(req, 'policy', 'reload', undefined, data));
      return policy.view();
    },
  };
}
