import { actorRef, type ApprovalListQuery, type ShareListQuery } from '@tether/contracts';
import type { ActorOf } from '@tether/projector';

// The filters and search of the share and approval lists (the dashboard's history), over the read model.

const has = (text: string | null | undefined, q: string) => !!text && text.toLowerCase().includes(q);

/** A share's time in a list: when it ended, or when it was asked for while it lives. */
const timeOf = (a: ActorOf<'share'>) => Date.parse((a.value === 'ended' && a.context.endedAt) || a.context.requestedAt);

/** Whether a share passes GET /v1/shares' filters and search. */
export function shareMatches(q: ShareListQuery): (a: ActorOf<'share'>) => boolean {
  const text = q.q?.toLowerCase();
  return (a) => {
    const c = a.context;
    const ended = a.value === 'ended';
    const t = timeOf(a);
    return (
      (!q.terminal_id || c.terminalId === q.terminal_id) &&
      (!q.lane_id || c.laneId === q.lane_id) &&
      (q.live !== 'true' || !ended) &&
      (!q.status || (q.status === 'live' ? !ended : ended && (q.status === 'ended' || c.endReason === 'denied'))) &&
      (!q.reason || (ended && c.endReason === q.reason)) &&
      (!q.backend || c.backend === q.backend) &&
      (!q.owner || actorRef(c.owner) === q.owner) &&
      (!q.since || t >= Date.parse(q.since)) &&
      (!q.until || t < Date.parse(q.until)) &&
      (!text ||
        a.entityId.toLowerCase().startsWith(text) ||
        Object.values(c.participants).some((p) => has(p.name, text)) ||
        has(c.endReason, text) ||
        has(c.endDetail, text) ||
        has(c.policy.reason, text))
    );
  };
}

/** Whether an approval passes GET /v1/approvals' filters and search. */
export function approvalMatches(q: ApprovalListQuery): (a: ActorOf<'approval'>) => boolean {
  const text = q.q?.toLowerCase();
  return (a) => {
    const c = a.context;
    return (
      (!q.status || a.value === q.status) &&
      (!text ||
        [a.entityId, c.shareId, c.handoffId].some((id) => id?.toLowerCase().startsWith(text)) ||
        has(actorRef(c.requestedBy), text) ||
        has(c.reason, text) ||
        has(c.note, text))
    );
  };
}
