import { handoffSubjects, subjects, type EventEnvelope, type HandoffOffer, type StoredEvent } from '@tether/contracts';
import { handoffView, readActor } from '@tether/projector';
import {
  ProcessManager,
  outcomeOf,
  type ActorHost,
  type EventStore,
  type Logger,
  type Send,
  type Subscription,
} from '@tether/runtime';
import { captureContext, type CaptureDeps } from './capture.ts';

export interface HandoffWorkerDeps extends CaptureDeps {
  store: EventStore;
  host: ActorHost;
  send: Send;
  log: Logger;
  /** Publishes on core NATS (the receiver's notification); absent with the embedded store, where the inbox is the only way. */
  publish?: (subject: string, payload: string) => void;
  approvalTimeoutMs: number;
}

const ENDED = new Set(['denied', 'cancelled', 'failed']);

/**
 * A handoff's effects after persistence, in the order of its events (one subscription, so a cancel
 * is never handled before the request it cancels): claim the terminal (the terminal lets one handoff
 * at a time claim it; the loser of a race fails with the reason), ask an operator where the policy
 * holds it, capture the context once allowed, notify the receiver, hand the keyboard over once
 * accepted, and free the terminal when the handoff ends without a transfer. Each acts on the
 * handoff's current state, so a redelivered old event does nothing stale.
 */
export class HandoffWorker {
  private readonly pm: ProcessManager;
  private sub?: Subscription;

  constructor(private readonly deps: HandoffWorkerDeps) {
    this.pm = new ProcessManager('handoffs', deps.send, deps.log);
  }

  async start() {
    this.sub = await this.pm.subscribe(this.deps.store, subjects.entityEvents('handoff'), (e) => this.handle(e));
  }

  async stop() {
    await this.sub?.stop();
  }

  private async handle({ event }: StoredEvent): Promise<void> {
    const ev = { ...event, correlationId: await this.correlationOf(event) };
    if (ev.type === 'handoff.request') return ev.state === 'denied' ? undefined : this.claim(ev);
    if (ev.type === 'handoff.approved') return this.initiate(ev);
    if (ev.type === 'handoff.initiated') return this.notify(ev);
    if (ev.type === 'handoff.accept') return this.handOver(ev);
    if (ENDED.has(String(ev.state))) return this.release(ev);
  }

  /** What tether does for a handoff carries its request's correlation id, whoever's command led here. */
  private async correlationOf(ev: EventEnvelope): Promise<string> {
    const own =
      ev.type === 'handoff.request'
        ? (ev.data as { correlationId?: string }).correlationId
        : (await this.handoff(ev.entityId))?.context.correlationId;
    return own || ev.correlationId;
  }

  private handoff = (id: string) => readActor(this.deps.host, 'handoff', id);

  /** The terminal first: a handoff that loses it to another ends here, before anyone is asked or anything captured. */
  private async claim(ev: EventEnvelope) {
    const { terminalId, policy } = ev.data as { terminalId: string; policy: { ruleId: string | null; reason: string } };
    const claimed = await this.pm.attempt(ev, 'terminal', 'handoffClaim', terminalId, { handoffId: ev.entityId });
    if (!claimed.ok) {
      await this.pm.report(ev, 'handoff', 'failed', ev.entityId, {
        reason: `terminal ${terminalId} cannot be handed over now: ${claimed.error.message}`,
      });
      return;
    }
    if (ev.state === 'awaitingApproval')
      await this.pm.report(ev, 'approval', 'request', ev.entityId, {
        handoffId: ev.entityId,
        requestedBy: ev.actor,
        ruleId: policy.ruleId ?? 'policy',
        reason: policy.reason,
        timeoutMs: this.deps.approvalTimeoutMs,
      });
    else await this.initiate(ev);
  }

  /** Allowed (at once, or by an operator): the context, captured now, never before. */
  private async initiate(ev: EventEnvelope) {
    const h = await this.handoff(ev.entityId);
    if (h?.value !== 'requested') return;
    const c = h.context;
    const captured = await outcomeOf(async () => {
      const worktree = (await readActor(this.deps.host, 'lane', c.laneId))?.context.worktreePath;
      if (!worktree) throw new Error(`lane ${c.laneId} has no worktree`);
      return captureContext(this.deps, {
        handoffId: h.entityId,
        terminalId: c.terminalId,
        worktree,
        correlationId: c.correlationId || ev.correlationId,
      });
    });
    if (captured.ok) await this.pm.report(ev, 'handoff', 'initiated', h.entityId, { context: captured.value });
    else
      await this.pm.report(ev, 'handoff', 'failed', h.entityId, {
        reason: `the context of terminal ${c.terminalId} could not be captured: ${captured.reason}`,
      });
  }

  /** The receiver hears of it on tether.handoff.<kind>.<id>.offered, with the context (names, never values). */
  private async notify(ev: EventEnvelope) {
    const h = await this.handoff(ev.entityId);
    if (h?.value !== 'offered') return;
    const offer: HandoffOffer = {
      handoff: handoffView(h),
      accept: { nats: subjects.command('handoff', 'accept'), http: `POST /v1/handoffs/${h.entityId}/accept` },
    };
    const subject = handoffSubjects.offered(h.context.to);
    this.deps.publish?.(subject, JSON.stringify(offer));
    this.pm.log.info(
      { handoffId: h.entityId, correlationId: ev.correlationId, subject, published: !!this.deps.publish },
      'handoff offered to its receiver',
    );
  }

  /** Accepted: the terminal changes its writer (and its worker reports the handoff completed), or says why not. */
  private async handOver(ev: EventEnvelope) {
    const h = await this.handoff(ev.entityId);
    if (h?.value !== 'transferring') return;
    const { terminalId, fromSessionId, toSessionId } = h.context;
    const moved = await this.pm.attempt(ev, 'terminal', 'handover', terminalId, {
      handoffId: h.entityId,
      fromSessionId,
      toSessionId,
    });
    if (!moved.ok)
      await this.pm.report(ev, 'handoff', 'failed', h.entityId, {
        reason: `terminal ${terminalId} did not change hands: ${moved.error.message}`,
      });
  }

  /** Ended without a transfer: the terminal is free for another handoff (refused, harmlessly, if it never held it). */
  private async release(ev: EventEnvelope) {
    const h = await this.handoff(ev.entityId);
    if (!h) return;
    await this.pm.report(ev, 'terminal', 'handoffRelease', h.context.terminalId, { handoffId: h.entityId });
  }
}
