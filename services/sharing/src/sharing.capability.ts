import { join } from 'node:path';
import { parseData, PolicyReloadBody } from '@tether/contracts';
import { isLiveShare } from '@tether/machines';
import { listActorsOf, readActor } from '@tether/projector';
import {
  CorrelationOrigins,
  runReactor,
  subscription,
  type Capability,
  type CapabilityDeps,
  type TerminalAccess,
} from '@tether/runtime';
import { liveTmateOptions, TmateAdapter, tmateOptions } from './backends/tmate.ts';
import { UptermAdapter, uptermOptions } from './backends/upterm.ts';
import { NativeRelays } from './native-relay.ts';
import { ProcessShares } from './process-shares.ts';
import { SecretBox } from './secrets.ts';
import { shareCommands } from './share-commands.ts';
import { ShareGate } from './share-gate.ts';
import { SharePolicy } from './share-policy.ts';
import { policyRoutes } from './policy.routes.ts';
import { shareRoutes } from './share.routes.ts';
import { approvalDecisions, closesTerminal, shareLifecycle, terminalShares } from './share-saga.ts';
import { ShareRunner } from './share-runner.ts';
import { ShareStatusLine } from './share-status.ts';
import { shareSettings } from './share-settings.ts';
import { shareWriteCheck } from './share-writers.ts';
import { viewerPages } from './viewer.pages.ts';

export interface Sharing extends Capability {
  /** Native shares' relays (one per live share), for tests and diagnostics. */
  relays: NativeRelays;
  /** The policy gate (handoffs are decided by the same policy file) and tether's key. */
  gate: ShareGate;
  secrets: SecretBox;
}

/** Terminal sharing: policy and approvals, native relays and tmate/upterm workers, TTLs, the viewer page. */
export async function startSharing(deps: CapabilityDeps & { terminals: TerminalAccess }): Promise<Sharing> {
  const { host, store, send, logger: log, config, home, terminals } = deps;
  const settings = shareSettings(config);
  const policy = new SharePolicy({
    setting: config.TETHER_SHARE_POLICY,
    home,
    host,
    log,
    entityId: deps.ownerId,
    onLoad: (next) => gate.use(next),
  });
  const gate = new ShareGate(policy.gate, settings);
  await policy.start();
  const secrets = SecretBox.load(join(home, 'secret.key'));
  const adapters = {
    tmate: new TmateAdapter(tmateOptions(config)),
    upterm: new UptermAdapter(uptermOptions(config)),
    // Live sessions' shares (their own relay, TETHER_LIVE_RELAY_HOST); share.create cannot name it.
    'live:tmate': new TmateAdapter(liveTmateOptions(config)),
  };
  const readyMs = config.TETHER_SHARE_READY_MS;
  // Relay and worker reports continue the share's flow: its correlation id, not one of their own.
  const origins = new CorrelationOrigins(store);

  // Participants' input goes over tether.term.<id>.in like any writer's; the terminal re-checks the grant.
  terminals.allowWriters(shareWriteCheck(host));
  const relays = new NativeRelays({
    follow: terminals.follow,
    sendInput: terminals.sendInput,
    resize: terminals.resize,
    size: terminals.size,
    onSize: terminals.onSize,
    report: async (shareId, verb, causeId, data) =>
      send({
        id: causeId,
        entity: 'share',
        verb,
        entityId: shareId,
        data,
        actor: { kind: 'system', id: 'relay' },
        correlationId: await origins.of('share', shareId, `share-${shareId}`),
        causationId: causeId,
      }),
    share: (shareId) => readActor(host, 'share', shareId),
    log,
  });
  let runner: ShareRunner | undefined;
  const processes = new ProcessShares(adapters, (shareId, reason) => runner?.failed(shareId, reason), log, {
    dir: join(home, 'shares'),
    ownerId: deps.ownerId,
    tmuxSocket: terminals.tmuxSocket,
    readyTimeoutMs: readyMs,
    heartbeatMs: config.TETHER_SHARE_HEARTBEAT_MS,
  });
  runner = new ShareRunner(store, host, send, relays, processes, secrets, origins, log);

  const saga = { send, log };
  return {
    name: 'sharing',
    commands: {
      ...shareCommands({
        host,
        gate,
        secrets,
        baseUrl: () => config.TETHER_PUBLIC_URL ?? deps.baseUrl(),
        checkBackend: async (backend) =>
          backend === 'native' ? undefined : adapters[backend as 'tmate' | 'upterm'].check(),
      }),
      // An operator's reload answers with the loaded event (or the refusal); the route shows the policy then.
      'policy.reload': async (cmd) => {
        parseData(PolicyReloadBody, 'data for policy.reload', cmd.data); // nothing to give, and nothing else is taken
        return (await policy.reload('command', cmd))!; // a command's reload is always recorded
      },
    },
    preconditions: {
      'share.request': gate.precondition,
      'share.approved': gate.decided,
      'share.rejected': gate.decided,
    },
    reactors: [
      subscription(() =>
        runReactor(store, shareLifecycle, {
          ...saga,
          load: async (ev) => ({
            approvalTimeoutMs: settings.approvalTimeoutMs,
            terminalId:
              ev.state === 'ended' ? (await readActor(host, 'share', ev.entityId))?.context.terminalId : undefined,
          }),
        }),
      ),
      subscription(() =>
        runReactor(store, approvalDecisions, {
          ...saga,
          load: async (ev) => ({ shareId: (await readActor(host, 'approval', ev.entityId))?.context.shareId }),
        }),
      ),
      subscription(() =>
        runReactor(store, terminalShares, {
          ...saga,
          load: async (ev) => {
            if (!closesTerminal(ev)) return { shares: [] };
            const t = (await readActor(host, 'terminal', ev.entityId))?.context;
            // The read model also finds shares whose slot was already freed but which have not ended yet.
            const live = await listActorsOf(
              store,
              'share',
              (a) => isLiveShare(a.value) && a.context.terminalId === ev.entityId,
            );
            return { shares: [...(t?.shares ?? []), ...live.map((a) => a.entityId)], closeReason: t?.closeReason };
          },
        }),
      ),
    ],
    // The share workers (relay and tmate/upterm processes) and the terminals' status lines; the sagas above
    // run even in safe mode, so shares still end.
    nonEssential: [runner, new ShareStatusLine(store, host, terminals, log)],
    routes: {
      ...shareRoutes({ dispatcher: deps.dispatcher, host, store, secrets, settleMs: readyMs + 2_000 }),
      ...policyRoutes(policy, deps.dispatcher),
    },
    pages: (app) => viewerPages(app, relays),
    relays,
    gate,
    secrets,
    stop: async () => policy.stop(),
  };
}
