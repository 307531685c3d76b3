import type { HandoffBadge, HandoffStatus, HandoffView } from '@tether/contracts';
import { actorRef } from '@tether/contracts';
import { isLiveHandoff } from '@tether/machines';
import type { EventStore } from '@tether/runtime';
import { listActorsOf, type ActorOf } from './actor-reads.ts';

const STATUS: Record<string, HandoffStatus> = {
  awaitingApproval: 'awaiting_approval',
  requested: 'requested',
  offered: 'offered',
  transferring: 'transferring',
  completed: 'completed',
  denied: 'denied',
  cancelled: 'cancelled',
  failed: 'failed',
};

/** A handoff as every surface shows it: environment variable names only, never their values. */
export function handoffView(a: ActorOf<'handoff'>): HandoffView {
  const c = a.context;
  return {
    handoff_id: a.entityId,
    terminal_id: c.terminalId,
    lane_id: c.laneId,
    status: STATUS[String(a.value)] ?? 'failed',
    from: actorRef(c.from),
    to: actorRef(c.to),
    from_session_id: c.fromSessionId,
    to_session_id: c.toSessionId,
    note: c.note ?? null,
    requested_at: c.requestedAt,
    approval_id: c.policy.effect === 'approval' ? a.entityId : null,
    policy: { effect: c.policy.effect, rule_id: c.policy.ruleId, reason: c.policy.reason },
    context: c.context ?? null,
    offer_expires_at: c.offerExpiresAt ?? null,
    accepted_at: c.acceptedAt ?? null,
    ended: c.end ? { as: c.end, reason: c.endReason ?? null, at: c.endedAt ?? '', by: c.endedBy ?? '' } : null,
  };
}

/** What a share badge says of a handoff going on for its terminal. */
export function handoffBadge(a: ActorOf<'handoff'>): HandoffBadge {
  const v = handoffView(a);
  return { handoff_id: v.handoff_id, status: v.status, from: v.from, to: v.to };
}

/** The handoff going on for each terminal that has one, from the actors read model (for share badges). */
export async function liveHandoffsByTerminal(store: EventStore): Promise<Map<string, HandoffBadge>> {
  const live = await listActorsOf(store, 'handoff', (a) => isLiveHandoff(a.value));
  return new Map(live.map((a) => [a.context.terminalId, handoffBadge(a)]));
}
