import type {
  EventEnvelope,
  ShareEndDetails,
  ShareExtendDetails,
  ShareGrantDetails,
  ShareStartDetails,
} from '@tether/contracts';
import { actorRef } from '@tether/contracts';
import type { ShareContext } from '@tether/machines';

/** An entity as the audit projector folds it: its machine state and context. */
export interface Folded<C = unknown> {
  value: unknown;
  context: C;
}

type Details = ShareStartDetails | ShareExtendDetails | ShareGrantDetails | ShareEndDetails;

/**
 * What a share record adds for an investigator (seed 000, T013), from the share before and after
 * the event: its start (terminal, backend, TTL, owner), an extension (old and new expiry), a grant
 * (its expiry), its end (reason, who, duration, viewers cut off). Undefined for other events.
 */
export function shareDetails(
  event: EventEnvelope,
  before: Folded<ShareContext> | undefined,
  after: Folded<ShareContext>,
): Details | undefined {
  const ctx = after.context;
  const verb = event.type.slice('share.'.length);
  if (after.value === 'ended' && before?.value !== 'ended') return ended(event, before?.context, ctx);
  if (verb === 'request' || verb === 'started' || verb === 'approved') return started(ctx);
  if (verb === 'extend' && before?.context.expiresAt && ctx.expiresAt)
    return {
      previousExpiresAt: before.context.expiresAt,
      expiresAt: ctx.expiresAt,
      addedMs: Date.parse(ctx.expiresAt) - Date.parse(before.context.expiresAt),
    };
  if (verb === 'grantWrite') {
    const participantId = (event.data as { participantId: string }).participantId;
    const p = ctx.participants[participantId];
    if (p?.writeUntil) return { participantId, participant: p.name, writeUntil: p.writeUntil };
  }
  return undefined;
}

function started(ctx: ShareContext): ShareStartDetails {
  return {
    owner: actorRef(ctx.owner),
    terminalId: ctx.terminalId,
    laneId: ctx.laneId,
    backend: ctx.backend,
    access: ctx.access,
    ttlMs: ctx.ttlMs,
    expiresAt: ctx.expiresAt ?? null,
  };
}

function ended(event: EventEnvelope, before: ShareContext | undefined, ctx: ShareContext): ShareEndDetails {
  const from = ctx.startedAt ?? ctx.requestedAt;
  const open = Object.values(before?.participants ?? {}).reduce((n, p) => n + p.connections, 0);
  return {
    endReason: ctx.endReason ?? 'terminated',
    endDetail: ctx.endDetail ?? null,
    endedBy: ctx.endedBy ?? actorRef(event.actor),
    startedAt: ctx.startedAt ?? null,
    durationMs: Math.max(0, Date.parse(ctx.endedAt ?? event.at) - Date.parse(from)),
    viewersDisconnected: ctx.backend === 'native' ? open : null,
  };
}
