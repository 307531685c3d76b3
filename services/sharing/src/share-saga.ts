import type { EventEnvelope } from '@tether/contracts';
import { actorRef } from '@tether/contracts';
import { defineReactor, type Intent } from '@tether/machines';

/*
 * The share saga across entities, as pure reactors: a share a rule holds gets an approval actor,
 * the operator's decision reaches the share, an ended share frees its terminal slot, and a closed
 * terminal ends its shares. What they need of other actors arrives in the view (see sharing.capability.ts).
 */

export interface ShareSagaView {
  approvalTimeoutMs: number;
  /** The share's terminal, once the share has ended. */
  terminalId?: string;
}

/** share.request held by a rule → approval.request; a share that ended → terminal.shareClose. */
export const shareLifecycle = defineReactor<ShareSagaView>({
  name: 'share_coordinator',
  filter: 'tether.evt.share.*',
  react(ev, view) {
    const intents: Intent[] = [];
    if (ev.type === 'share.request' && ev.state === 'awaitingApproval') {
      const { policy } = ev.data as { policy: { ruleId: string | null; reason: string } };
      intents.push({
        entity: 'approval',
        verb: 'request',
        entityId: ev.entityId,
        data: {
          shareId: ev.entityId,
          requestedBy: ev.actor,
          ruleId: policy.ruleId ?? 'policy',
          reason: policy.reason,
          timeoutMs: view.approvalTimeoutMs,
        },
      });
    }
    if (ev.state === 'ended' && view.terminalId)
      intents.push({
        entity: 'terminal',
        verb: 'shareClose',
        entityId: view.terminalId,
        data: { shareId: ev.entityId },
      });
    return intents;
  },
});

/** The share an approval decides on (absent: the approval does not exist). */
export interface ApprovalView {
  shareId?: string;
}

/** An approval's outcome reaches its share: approved, or rejected with who denied it and why, or that time ran out. */
export const approvalDecisions = defineReactor<ApprovalView>({
  name: 'share_approvals',
  filter: 'tether.evt.approval.*',
  react(ev, { shareId }) {
    if (!shareId) return [];
    const decide = (verb: 'approved' | 'rejected', data: Record<string, unknown>): Intent[] => [
      { entity: 'share', verb, entityId: shareId, data: { approvalId: ev.entityId, ...data } },
    ];
    if (ev.type === 'approval.approve') return decide('approved', { by: actorRef(ev.actor) });
    if (ev.type === 'approval.deny')
      return decide('rejected', {
        reason: `denied by ${actorRef(ev.actor)}: ${(ev.data as { reason: string }).reason}`,
      });
    if (ev.type === 'approval.expire') return decide('rejected', { reason: 'nobody approved the share in time' });
    return [];
  },
});

/** True for the events that close a terminal: closing it, or its shell exiting. */
export const closesTerminal = (ev: EventEnvelope) =>
  ev.state === 'closed' && (ev.type === 'terminal.close' || ev.type === 'terminal.exited');

export interface ClosedTerminalView {
  /** Shares in the terminal's slots, and live shares of it in the read model (a slot may be freed before the share ends). */
  shares: string[];
  closeReason?: string;
}

/** Closing (or the exit of) a terminal ends every share of it. */
export const terminalShares = defineReactor<ClosedTerminalView>({
  name: 'share_terminals',
  filter: 'tether.evt.terminal.*',
  react(ev, view) {
    if (!closesTerminal(ev)) return [];
    const reason = `terminal ${ev.entityId} closed (${view.closeReason ?? 'closed'})`;
    return [...new Set(view.shares)].map((id) => ({
      entity: 'share',
      verb: 'terminate',
      entityId: id,
      data: { reason },
    }));
  },
});
