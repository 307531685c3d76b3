import type { Capability, CapabilityDeps } from '@tether/runtime';
import type { ControlPlane } from '../control-plane.capability.ts';
import { taskRunCommands } from './task-run-commands.ts';
import { TaskWorker } from './task-worker.ts';

/**
 * Task runs (seed 002): an agent started in a lane inside a tether terminal laid out as agent | task
 * log | operator inbox | operator shell, paused, resumed, taken over, messaged and cancelled by operators.
 * Its terminal is the control plane's (relayed, shared and recorded like any other).
 */
export async function startTaskRuns(deps: CapabilityDeps & { controlPlane: ControlPlane }): Promise<Capability> {
  const { host, store, send, logger, config, home, dispatcher, controlPlane } = deps;
  const nc = deps.nc;
  const worker = new TaskWorker({
    store,
    host,
    send,
    log: logger,
    home,
    ownerId: deps.ownerId,
    shell: config.TETHER_SHELL,
    terminals: controlPlane.terminals,
    ...(nc ? { publish: (subject: string, payload: string) => nc.publish(subject, payload) } : {}),
  });
  return {
    name: 'task-runs',
    commands: taskRunCommands({ host, dispatcher, config, installationId: deps.ownerId, log: logger }),
    preconditions: {},
    // Like every worker: held back in safe mode and while a recovery run restores terminals.
    reactors: [],
    nonEssential: [worker],
    routes: {},
    stop: async () => {},
  };
}
