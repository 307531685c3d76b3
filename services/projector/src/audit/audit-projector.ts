import {
  auditedEntities,
  unauditedEvents,
  redact,
  scrubString,
  subjects,
  type AuditEntry,
  type AuditRecord,
  type EntityNameOf,
  type EventEnvelope,
  type StateValue,
  type StoredEvent,
} from '@tether/contracts';
import { registry as defaultRegistry, type EntityDefinition, type ShareContext } from '@tether/machines';
import {
  LruMap,
  applyEvent,
  initialSnapshot,
  silentLogger,
  type DurableSubscriptions,
  type EventLog,
  type Logger,
  type Subscription,
} from '@tether/runtime';
import type { AnyMachineSnapshot } from 'xstate';
import type { AuditLog } from './audit-log.ts';
import { shareDetails, type Folded } from './share-details.ts';

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
  /** The machines that fold each entity's history for `details` (default: tether's registry). */
  registry?: Record<string, EntityDefinition>;
}

/** An audited entity after one of its events, as far as its records need it. */
interface Known {
  seq: number;
  state: StateValue;
  /** Correlation id of its first event. */
  origin: string;
  /** Its machine snapshot; undefined when it could not be folded (records go on without details). */
  snapshot?: AnyMachineSnapshot;
}

/** Per entity, the details its records add (what an investigator needs beyond the event). */
const DETAILS: Record<string, (event: EventEnvelope, before: Folded | undefined, after: Folded) => object | undefined> =
  {
    share: (event, before, after) =>
      shareDetails(event, before as Folded<ShareContext> | undefined, after as Folded<ShareContext>),
  };

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
  /** Each entity after its last audited event: the reason, origin and details of the next one start there. */
  private readonly known = new LruMap<string, Known>(10_000);
  private readonly registry: Record<string, EntityDefinition>;

  constructor(
    private readonly store: DurableSubscriptions & EventLog,
    readonly log: AuditLog,
    private readonly opts: AuditProjectorOptions = {},
  ) {
    this.name = opts.name ?? AUDIT_CONSUMER;
    this.entities = new Set(opts.entities ?? AUDITED_ENTITIES);
    this.logger = opts.logger ?? silentLogger;
    this.registry = opts.registry ?? defaultRegistry;
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
    if (!this.entities.has(event.entity) || unauditedEvents.has(event.type)) return undefined;
    const before = await this.before(event);
    const after = this.next(before, event);
    const record = await this.log.append(this.entry(e, before, after));
    this.known.set(`${event.entity}.${event.entityId}`, after);
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

  /** Record fields of one event: everything from its envelope, data redacted, and what its history adds. */
  private entry({ event, streamSeq }: StoredEvent, before: Known | undefined, after: Known): AuditEntry {
    const details = this.detailsOf(event, before?.snapshot, after.snapshot);
    return {
      eventId: event.id,
      streamSeq,
      at: event.at,
      action: event.type,
      entity: event.entity,
      entityId: event.entityId,
      actor: event.actor,
      ...(event.credentialId ? { credentialId: event.credentialId } : {}),
      reason: reasonOf(event, before?.state),
      state: event.state,
      correlationId: event.correlationId,
      causationId: event.causationId,
      originCorrelationId: after.origin,
      data: redact(event.data),
      ...(details ? { details: redact(details) as Record<string, unknown> } : {}),
    };
  }

  private detailsOf(event: EventEnvelope, before: Folded | undefined, after: Folded | undefined) {
    const derive = DETAILS[event.entity];
    if (!derive || !after) return undefined;
    try {
      return derive(event, before, after);
    } catch (err) {
      // Details help an investigator; they never hold the record itself back.
      this.logger.warn({ correlationId: event.correlationId, eventId: event.id, err: String(err) }, 'no audit details');
      return undefined;
    }
  }

  /** The entity before `event`: remembered from its last record, else folded from the event log. */
  private async before(event: EventEnvelope): Promise<Known | undefined> {
    if (event.seq === 1) return undefined;
    const known = this.known.get(`${event.entity}.${event.entityId}`);
    if (known?.seq === event.seq - 1) return known;
    // Not seen in this process (a restart, another projector took it): the event log knows.
    let folded: Known | undefined;
    for (const x of await this.store.readEntity(event.entity, event.entityId)) {
      if (x.event.seq >= event.seq) break;
      folded = this.next(folded, x.event);
    }
    return folded;
  }

  /** The entity after `event`; its machine state stays unknown once an event could not be applied. */
  private next(before: Known | undefined, event: EventEnvelope): Known {
    const origin = before?.origin ?? event.correlationId;
    const def = this.registry[event.entity];
    // Only a first event starts from the machine's initial state: a history with a gap is not guessed at.
    const from = before ? before.snapshot : event.seq === 1 && def ? initialSnapshot(def) : undefined;
    let snapshot: AnyMachineSnapshot | undefined;
    try {
      snapshot = def && from ? applyEvent(def, from, event) : undefined;
    } catch {
      snapshot = undefined; // a machine that changed incompatibly: records go on without details
    }
    return { seq: event.seq, state: event.state, origin, snapshot };
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

/** data.reason, else data.note, else "<before> -> <after>" when the state changed, else null. */
function reasonOf(event: EventEnvelope, before: StateValue | undefined): string | null {
  for (const key of ['reason', 'note'] as const) {
    const v = event.data[key];
    if (typeof v === 'string' && v.trim()) return scrubString(v);
  }
  const [from, to] = [before === undefined ? '(new)' : stateText(before), stateText(event.state)];
  return from === to ? null : `${from} -> ${to}`;
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
