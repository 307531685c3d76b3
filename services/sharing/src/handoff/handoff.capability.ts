import { readActor } from '@tether/projector';
import { runReactor, subscription, type Capability, type CapabilityDeps, type TerminalAccess } from '@tether/runtime';
import type { SecretBox } from '../secrets.ts';
import type { ShareGate } from '../share-gate.ts';
import { closesTerminal } from '../share-saga.ts';
import { handoffCommands, handoffPreconditions } from './handoff-commands.ts';
import { handoffApprovals, terminalHandoffs } from './handoff-saga.ts';
import { HandoffWorker } from './handoff-worker.ts';
import { handoffRoutes } from './handoff.routes.ts';

export interface HandoffDeps extends CapabilityDeps {
  terminals: TerminalAccess;
  /** Sharing's policy gate and key: one policy file decides shares and handoffs, one key seals their secrets. */
  gate: ShareGate;
  secrets: SecretBox;
}

/**
 * Handoffs (seed 000, T011): a terminal's keyboard from one actor to another under the share policy and
 * its approvals, with the terminal's context captured for the receiver and the writer changed for real.
 */
export async function startHandoff(deps: HandoffDeps): Promise<Capability> {
  const { host, store, send, logger: log, config, terminals, gate, secrets } = deps;
  const commandDeps = { host, gate, offerTtlMs: config.TETHER_HANDOFF_OFFER_TTL_MS };
  const nc = deps.nc;
  const worker = new HandoffWorker({
    store,
    host,
    send,
    log,
    terminals,
    secrets,
    home: deps.home,
    approvalTimeoutMs: config.TETHER_APPROVAL_TIMEOUT_MS,
    ...(nc ? { publish: (subject: string, payload: string) => nc.publish(subject, payload) } : {}),
  });
  const saga = { send, log };
  return {
    name: 'handoff',
    commands: handoffCommands(commandDeps),
    preconditions: handoffPreconditions(commandDeps),
    // The worker captures terminals' context: held back in safe mode, like every worker.
    nonEssential: [worker],
    reactors: [
      subscription(() =>
        runReactor(store, handoffApprovals, {
          ...saga,
          load: async (ev) => {
            const handoffId = (await readActor(host, 'approval', ev.entityId))?.context.handoffId;
            const h = handoffId ? await readActor(host, 'handoff', handoffId) : undefined;
            return { handoffId, correlationId: h?.context.correlationId };
          },
        }),
      ),
      subscription(() =>
        runReactor(store, terminalHandoffs, {
          ...saga,
          load: async (ev) => {
            if (!closesTerminal(ev)) return {};
            const t = (await readActor(host, 'terminal', ev.entityId))?.context;
            const h = t?.handoffId ? await readActor(host, 'handoff', t.handoffId) : undefined;
            return { handoffId: t?.handoffId, closeReason: t?.closeReason, correlationId: h?.context.correlationId };
          },
        }),
      ),
    ],
    routes: handoffRoutes({ dispatcher: deps.dispatcher, host, store, secrets, home: deps.home }),
    stop: async () => {},
  };
}
