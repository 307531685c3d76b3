import {
  actorRef,
  type ApprovalView,
  type HandoffBadge,
  type ParticipantView,
  type ShareView,
} from '@tether/contracts';
import type { ShareContext } from '@tether/machines';
import type { ActorOf } from './actor-reads.ts';

const STATUS: Record<string, ShareView['status']> = {
  awaitingApproval: 'awaiting_approval',
  starting: 'starting',
  active: 'active',
  expiring: 'expiring',
  ended: 'ended',
};

/**
 * A share as every surface shows it; `now` gives the time left, `handoff` the handoff going on for its
 * terminal (see handoffsByTerminal). Never carries a token or a link.
 */
export function shareView(a: ActorOf<'share'>, now = Date.now(), handoff: HandoffBadge | null = null): ShareView {
  const c = a.context;
  const ended = a.value === 'ended';
  return {
    share_id: a.entityId,
    terminal_id: c.terminalId,
    lane_id: c.laneId,
    backend: c.backend,
    access: c.access,
    status: STATUS[String(a.value)] ?? 'ended',
    owner: actorRef(c.owner),
    requested_at: c.requestedAt,
    expires_at: c.expiresAt ?? null,
    warn_at: c.warnAt ?? null,
    ms_left: !ended && c.expiresAt ? Math.max(0, Date.parse(c.expiresAt) - now) : null,
    approval_id: c.policy.effect === 'approval' ? a.entityId : null,
    policy: { effect: c.policy.effect, rule_id: c.policy.ruleId, reason: c.policy.reason },
    ended: ended
      ? { reason: c.endReason ?? 'failed', detail: c.endDetail ?? null, at: c.endedAt ?? '', by: c.endedBy ?? '' }
      : null,
    replaces: c.replaces ?? null,
    switched_to: c.switchedTo ?? null,
    participants: participantViews(c, now, ended),
    handoff: ended ? null : handoff,
  };
}

/** An ended share has nobody connected: its relay closed every socket (leaves after the end are not recorded). */
export function participantViews(c: ShareContext, now = Date.now(), ended = false): ParticipantView[] {
  return Object.entries(c.participants).map(([id, p]) => ({
    participant_id: id,
    name: p.name,
    access: p.access === 'write' && p.writeUntil && Date.parse(p.writeUntil) > now ? 'write' : 'read',
    write_until: p.writeUntil ?? null,
    connected: !ended && p.connections > 0,
    kicked: !!p.kicked,
    joined_at: p.joinedAt ?? null,
  }));
}

export function approvalView(a: ActorOf<'approval'>): ApprovalView {
  const c = a.context;
  return {
    approval_id: a.entityId,
    share_id: c.shareId ?? null,
    handoff_id: c.handoffId ?? null,
    status: a.value as ApprovalView['status'],
    requested_by: actorRef(c.requestedBy),
    rule_id: c.ruleId,
    reason: c.reason,
    expires_at: c.expiresAt,
    decided_by: c.decidedBy ?? null,
    decision_note: c.note ?? null,
  };
}
