import type { Capability, CapabilityDeps, TerminalAccess } from '@tether/runtime';
import { liveTmateOptions, TmateAdapter } from '../backends/tmate.ts';
import type { SecretBox } from '../secrets.ts';
import { shareSteps } from '../share-commands.ts';
import type { ShareGate } from '../share-gate.ts';
import { liveCommands } from './live-commands.ts';
import { liveSettings } from './live-settings.ts';
import { LiveWorker } from './live-worker.ts';
import { taskRunRoutes } from './task-run.routes.ts';

export interface LiveSessionDeps extends CapabilityDeps {
  terminals: TerminalAccess;
  /** Sharing's gate and key: a live session is served by a share, and its secrets are sealed with the same key. */
  gate: ShareGate;
  secrets: SecretBox;
}

/**
 * Live sessions (seed 002): a task run watched through a share of its terminal (tether's relay, or
 * tmate), read-only first, with write grants that expire, heartbeats from the tether that serves it,
 * and an end with a reason when the run ends, its TTL runs out, or its provider or worker fails.
 */
export async function startLiveSessions(deps: LiveSessionDeps): Promise<Capability & { worker: LiveWorker }> {
  const { host, store, send, logger: log, config, gate, secrets } = deps;
  const settings = liveSettings(config);
  const tmate = new TmateAdapter(liveTmateOptions(config));
  const steps = shareSteps({
    host,
    gate,
    secrets,
    baseUrl: () => config.TETHER_PUBLIC_URL ?? deps.baseUrl(),
    // A live session's tmate is checked against its own relay (TETHER_LIVE_RELAY_HOST); upterm serves no live session.
    checkBackend: async (backend) => (backend === 'tmate' ? tmate.check() : undefined),
  });
  const worker = new LiveWorker({
    store,
    host,
    send,
    log,
    secrets,
    gate,
    steps,
    settings,
    instanceId: deps.ownerId,
  });
  return {
    name: 'live-sessions',
    commands: liveCommands({ host, secrets, steps, settings }),
    preconditions: {},
    reactors: [],
    // The worker shares terminals and heartbeats: held back in safe mode, like the share workers.
    nonEssential: [worker],
    routes: taskRunRoutes({ dispatcher: deps.dispatcher, host, store, secrets }),
    worker,
    stop: async () => {},
  };
}
