import type { Capability, CapabilityDeps } from '@tether/runtime';
import { recoveryRoutes } from './recovery.routes.ts';

/** Crash recovery (seed 003): the instance's heartbeat, crash detection, recovery runs, checkpoints, orphans. */
export async function startRecovery(deps: CapabilityDeps): Promise<Capability> {
  return {
    name: 'recovery',
    commands: {},
    preconditions: {},
    reactors: [],
    routes: recoveryRoutes({ dispatcher: deps.dispatcher, host: deps.host, store: deps.store }),
    stop: async () => {},
  };
}
