import type { StoredEvent } from '@tether/contracts';
import type { ShareContext, TerminalContext } from '@tether/machines';
import { listActors, type ActorHost, type EventStore, type Logger, type Subscription } from '@tether/runtime';
import { ProcessManager, type Send } from '../process-manager.ts';
import { isLiveShare } from '@tether/machines';

/**
 * The share saga across entities: a share a rule holds gets an approval actor, the operator's
 * decision reaches the share, an ended share frees its terminal slot, and a closed terminal ends
 * its shares. It only sends commands; the relay and the workers do the I/O.
 */
export class ShareCoordinator {
  private readonly pm: ProcessManager;
  private subs: Subscription[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly host: ActorHost,
    send: Send,
    log: Logger,
    private readonly opts: { approvalTimeoutMs: number },
  ) {
    this.pm = new ProcessManager('share_coordinator', send, log);
  }

  async start() {
    this.subs = [
      await this.store.subscribe('pm_share_coordinator', { filter: 'tether.evt.share.*', ackWaitMs: 60_000 }, (e) =>
        this.onShare(e),
      ),
      await this.store.subscribe('pm_share_approvals', { filter: 'tether.evt.approval.*', ackWaitMs: 60_000 }, (e) =>
        this.onApproval(e),
      ),
      await this.store.subscribe('pm_share_terminals', { filter: 'tether.evt.terminal.*', ackWaitMs: 60_000 }, (e) =>
        this.onTerminal(e),
      ),
    ];
  }

  async stop() {
    await Promise.all(this.subs.map((s) => s.stop()));
  }

  private async onShare(e: StoredEvent) {
    const ev = e.event;
    if (ev.type === 'share.request' && ev.state === 'awaitingApproval') {
      const d = ev.data as { policy: { ruleId: string | null; reason: string } };
      await this.pm.report(ev, 'approval', 'request', ev.entityId, {
        shareId: ev.entityId,
        requestedBy: ev.actor,
        ruleId: d.policy.ruleId ?? 'policy',
        reason: d.policy.reason,
        timeoutMs: this.opts.approvalTimeoutMs,
      });
    }
    if (ev.state === 'ended') {
      const c = (await this.host.state('share', ev.entityId))?.context as ShareContext | undefined;
      if (c) await this.pm.report(ev, 'terminal', 'shareClose', c.terminalId, { shareId: ev.entityId });
    }
  }

  private async onApproval(e: StoredEvent) {
    const ev = e.event;
    const shareId = (await this.host.state('approval', ev.entityId))?.context as { shareId: string } | undefined;
    if (!shareId) return;
    const by = `${ev.actor.kind}:${ev.actor.id}`;
    if (ev.type === 'approval.approve')
      await this.pm.report(ev, 'share', 'approved', shareId.shareId, { approvalId: ev.entityId, by });
    if (ev.type === 'approval.deny')
      await this.pm.report(ev, 'share', 'rejected', shareId.shareId, {
        approvalId: ev.entityId,
        reason: `denied by ${by}: ${(ev.data as { reason: string }).reason}`,
      });
    if (ev.type === 'approval.expire')
      await this.pm.report(ev, 'share', 'rejected', shareId.shareId, {
        approvalId: ev.entityId,
        reason: 'nobody approved the share in time',
      });
  }

  /** Closing (or the exit of) a terminal ends every share of it. */
  private async onTerminal(e: StoredEvent) {
    const ev = e.event;
    if (ev.state !== 'closed' || (ev.type !== 'terminal.close' && ev.type !== 'terminal.exited')) return;
    const t = (await this.host.state('terminal', ev.entityId))?.context as TerminalContext | undefined;
    const fromSlots = t?.shares ?? [];
    // The read model also finds shares whose slot was already freed but which have not ended yet.
    const live = await listActors(
      this.store,
      'share',
      (a) => isLiveShare(a.value) && (a.context as ShareContext).terminalId === ev.entityId,
    );
    for (const id of new Set([...fromSlots, ...live.map((a) => a.entityId)])) {
      await this.pm.report(ev, 'share', 'terminate', id, {
        reason: `terminal ${ev.entityId} closed (${t?.closeReason ?? 'closed'})`,
      });
    }
  }
}
