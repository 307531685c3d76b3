import {
  auditedEntities,
  subjects,
  type AuditEntry,
  type AuditRecord,
  type EntityNameOf,
  type StateValue,
  type StoredEvent,
} from '@tether/contracts';
import {
  LruMap,
  silentLogger,
  type DurableSubscriptions,
  type EventLog,
  type Logger,
  type Subscription,
} from '@tether/runtime';
import type { AuditLog } from './audit-log.ts';
import { redact, scrubString } from './redact.ts';

/** Entities whose every event is security-relevant, as the registry marks them (auditedEntities). */
export const AUDITED_ENTITIES = (Object.keys(auditedEntities) as EntityNameOf[]).filter((e) => auditedEntities[e]);

export const AUDIT_CONSUMER = 'audit';

export interface AuditProjectorOptions {
  /** Entities to audit; events of others are acknowledged without a record. */
  entities?: readonly string[];
  logger?: Logger;
  /** Durable subscription name (default "audit"). */
  name?: string;
  ackWaitMs?: number;
}

/**
 * Turns events of the audited entities into audit records, one per event, in the order they are
 * delivered. Exactly once: the audit log answers an event id it holds with the record it wrote, so
 * a redelivery (crash before the ack, a second projector on the same subscription) adds nothing.
 */
export class AuditProjector {
  readonly name: string;
  private readonly entities: ReadonlySet<string>;
  private readonly logger: Logger;
  private sub?: Subscription;
  private stopping?: AbortController;
  /** State after each entity's last audited event, for the reason of the next one. */
  private readonly states = new LruMap<string, { seq: number; state: StateValue }>(10_000);

  constructor(
    private readonly store: DurableSubscriptions & EventLog,
    readonly log: AuditLog,
    private readonly opts: AuditProjectorOptions = {},
  ) {
    this.name = opts.name ?? AUDIT_CONSUMER;
    this.entities = new Set(opts.entities ?? AUDITED_ENTITIES);
    this.logger = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    if (this.sub) return;
    const stopping = new AbortController();
    this.stopping = stopping;
    this.sub = await this.store.subscribe(
      this.name,
      { filter: subjects.allEvents, maxInFlight: 1, ackWaitMs: this.opts.ackWaitMs },
      (e) => this.handleWithRetry(e, stopping.signal),
    );
  }

  async stop(): Promise<void> {
    this.stopping?.abort();
    await this.sub?.stop();
    this.sub = undefined;
  }

  /** Appends the event's record (or returns the one written for it before); undefined when not audited. */
  async handle(e: StoredEvent): Promise<AuditRecord | undefined> {
    const { event } = e;
    if (!this.entities.has(event.entity)) return undefined;
    const record = await this.log.append(await this.entryFor(e));
    this.states.set(`${event.entity}.${event.entityId}`, { seq: event.seq, state: event.state });
    // Never the data: ids, the action and positions only.
    this.logger.debug(
      {
        correlationId: event.correlationId,
        eventId: event.id,
        action: event.type,
        entityId: event.entityId,
        auditSeq: record.seq,
      },
      'audited',
    );
    return record;
  }

  /** Events the audit has not taken yet. */
  async lag(): Promise<number> {
    return (await this.store.subscriptionLag(this.name)) ?? (await this.store.lastStreamSeq());
  }

  async waitCaughtUp(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((await this.lag()) > 0) {
      if (Date.now() > until) throw new Error(`audit still lags after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Record fields of one event: everything from its envelope, data redacted. */
  async entryFor({ event, streamSeq }: StoredEvent): Promise<AuditEntry> {
    return {
      eventId: event.id,
      streamSeq,
      at: event.at,
      action: event.type,
      entity: event.entity,
      entityId: event.entityId,
      actor: event.actor,
      ...(event.credentialId ? { credentialId: event.credentialId } : {}),
      reason: await this.reasonOf(event),
      state: event.state,
      correlationId: event.correlationId,
      causationId: event.causationId,
      data: redact(event.data),
    };
  }

  /** data.reason, else data.note, else "<before> -> <after>" when the state changed, else null. */
  private async reasonOf(event: StoredEvent['event']): Promise<string | null> {
    for (const key of ['reason', 'note'] as const) {
      const v = event.data[key];
      if (typeof v === 'string' && v.trim()) return scrubString(v);
    }
    const before = event.seq === 1 ? undefined : await this.stateBefore(event.entity, event.entityId, event.seq);
    const [from, to] = [before === undefined ? '(new)' : stateText(before), stateText(event.state)];
    return from === to ? null : `${from} -> ${to}`;
  }

  private async stateBefore(entity: string, entityId: string, seq: number): Promise<StateValue | undefined> {
    const known = this.states.get(`${entity}.${entityId}`);
    if (known?.seq === seq - 1) return known.state;
    // Not seen in this process (a restart, another projector took it): the event log knows.
    const events = await this.store.readEntity(entity, entityId);
    return events.find((x) => x.event.seq === seq - 1)?.event.state;
  }

  /** Transient failures are retried in place, so a later event never overtakes this one. */
  private async handleWithRetry(e: StoredEvent, stopping: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.handle(e);
        return;
      } catch (err) {
        if (stopping.aborted) throw err; // handed back to the store: redelivered after the restart
        const level = attempt >= 5 ? 'error' : 'warn';
        this.logger[level](
          {
            correlationId: e.event.correlationId,
            eventId: e.event.id,
            streamSeq: e.streamSeq,
            attempt,
            err: (err as Error)?.message ?? String(err),
          },
          'audit append failed; retrying',
        );
        await pause(Math.min(5_000, 100 * 2 ** attempt), stopping);
        if (stopping.aborted) throw err;
      }
    }
  }
}

/** "held", or "a.b,c.d" for compound and parallel states. */
export function stateText(s: StateValue): string {
  if (typeof s === 'string') return s;
  return Object.entries(s)
    .map(([k, v]) => (typeof v === 'string' ? `${k}.${v}` : `${k}.${stateText(v)}`))
    .join(',');
}

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
