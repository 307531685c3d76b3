import { actorRef } from '@tether/contracts';
import { defineReactor, type Intent } from '@tether/machines';
import { closesTerminal } from '../share-saga.ts';

/*
 * The handoff saga across entities, as pure reactors: an operator's decision on a handoff's approval
 * reaches the handoff, and a terminal that closes fails the handoff going on for it. The effects
 * (claiming the terminal, capturing, notifying, handing over) are the HandoffWorker's.
 */

/** The handoff an approval decides on (absent: the approval is a share's, or does not exist). */
export interface HandoffApprovalView {
  handoffId?: string;
  /** The handoff's correlation id: the decision's report carries it on. */
  correlationId?: string;
}

/** An approval's outcome reaches its handoff: approved, or denied with who and why, or that time ran out. */
export const handoffApprovals = defineReactor<HandoffApprovalView>({
  name: 'handoff_approvals',
  filter: 'tether.evt.approval.*',
  react(ev, { handoffId, correlationId }) {
    if (!handoffId) return [];
    const decide = (verb: 'approved' | 'denied', data: Record<string, unknown>): Intent[] => [
      {
        entity: 'handoff',
        verb,
        entityId: handoffId,
        data: { approvalId: ev.entityId, ...data },
        ...(correlationId ? { correlationId } : {}),
      },
    ];
    if (ev.type === 'approval.approve') return decide('approved', { by: actorRef(ev.actor) });
    if (ev.type === 'approval.deny')
      return decide('denied', { reason: `denied by ${actorRef(ev.actor)}: ${(ev.data as { reason: string }).reason}` });
    if (ev.type === 'approval.expire') return decide('denied', { reason: 'nobody approved the handoff in time' });
    return [];
  },
});

/** The handoff holding a closed terminal's claim, and why the terminal closed. */
export interface ClosedTerminalHandoffView {
  handoffId?: string;
  closeReason?: string;
  correlationId?: string;
}

/** Closing (or the exit of) a terminal fails the handoff going on for it. */
export const terminalHandoffs = defineReactor<ClosedTerminalHandoffView>({
  name: 'handoff_terminals',
  filter: 'tether.evt.terminal.*',
  react(ev, view) {
    if (!closesTerminal(ev) || !view.handoffId) return [];
    return [
      {
        entity: 'handoff',
        verb: 'failed',
        entityId: view.handoffId,
        data: { reason: `terminal ${ev.entityId} closed (${view.closeReason ?? 'closed'})` },
        ...(view.correlationId ? { correlationId: view.correlationId } : {}),
      },
    ];
  },
});
