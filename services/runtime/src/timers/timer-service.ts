import { ACTORS_BUCKET, type Command, type CommandReply } from '@tether/contracts';
import type { EntityDefinition } from '@tether/machines';
import type { SavedActor } from '../actor/fold.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { CorrelationOrigins } from '../correlation-origins.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { ProjectedDoc } from '../readmodel.ts';
import type { KeyValueStore } from '../store/port.ts';

export interface TimerServiceOptions {
  store: KeyValueStore;
  registry: Record<string, EntityDefinition>;
  /** Delivers a fired deadline as a command (the local actor host, or the NATS bus). */
  send: (cmd: Command) => Promise<CommandReply>;
  clock?: Clock;
  logger?: Logger;
  /** Wait before resending a deadline command that found the store unavailable. */
  retryMs?: number;
  /** Where a fired deadline finds its actor's correlation id (without: each firing starts a flow of its own). */
  origins?: Pick<CorrelationOrigins, 'of'>;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Durable timers (XState does not persist `after`): deadlines live in actor context, this service
 * reads them from the actors read model at start and on every change, and fires their commands.
 * A deadline that passed while tether was down fires at start. Command ids are derived from the
 * deadline, so two timer services firing the same deadline apply it once.
 */
export class TimerService {
  /** Per actor, its armed deadlines by verb@at: re-arming replaces, firing removes. */
  private readonly armed = new Map<string, Map<string, NodeJS.Timeout>>();
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly log: Logger;
  private watching?: Promise<void>;

  constructor(private readonly opts: TimerServiceOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    await this.opts.store.kv(ACTORS_BUCKET);
    this.watching = this.watch();
  }

  /** Watches the read model for ever; if the watch breaks (store outage, rebuilt bucket) it starts over. */
  private async watch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        const bucket = await this.opts.store.kv(ACTORS_BUCKET);
        for await (const change of bucket.watch<ProjectedDoc<SavedActor>>({
          signal: this.abort.signal,
          initial: true,
        })) {
          this.rearm(change.key, change.value?.value);
        }
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.log.warn({ err: String(err) }, 'timer watch broke; watching again in 1 s');
      }
      if (!this.abort.signal.aborted) await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /** Number of deadlines currently armed (exposed as a metric). */
  get pending(): number {
    let n = 0;
    for (const t of this.armed.values()) n += t.size;
    return n;
  }

  private rearm(key: string, actor: SavedActor | undefined) {
    for (const t of this.armed.get(key)?.values() ?? []) clearTimeout(t);
    this.armed.delete(key);
    const def = actor && this.opts.registry[actor.entity];
    const deadlines = (actor && def?.deadlines?.(actor.value, actor.context)) ?? [];
    if (!actor || deadlines.length === 0) return;
    const timers = new Map<string, NodeJS.Timeout>();
    this.armed.set(key, timers);
    for (const d of deadlines) this.arm(timers, actor, d.verb, d.at);
  }

  private arm(timers: Map<string, NodeJS.Timeout>, actor: SavedActor, verb: string, at: string) {
    const slot = `${verb}@${at}`;
    const delay = Math.max(0, Date.parse(at) - this.clock.now().getTime());
    timers.set(
      slot,
      setTimeout(
        () => {
          // setTimeout may wake early by the wall clock (or at its 24.8-day cap): then wait again.
          if (this.clock.now().getTime() < Date.parse(at)) return this.arm(timers, actor, verb, at);
          timers.delete(slot);
          void this.fire(actor, verb, at);
        },
        Math.min(delay + 1, MAX_TIMEOUT),
      ),
    );
  }

  private async fire(actor: SavedActor, verb: string, at: string): Promise<void> {
    if (this.abort.signal.aborted) return;
    const id = `timer-${actor.entity}-${actor.entityId}-${verb}-${Date.parse(at)}`;
    // The deadline belongs to the actor's flow (a share's expiry to the share's), not to a flow of its own.
    const correlationId = (await this.opts.origins?.of(actor.entity, actor.entityId, id)) ?? id;
    const cmd: Command = {
      id,
      entity: actor.entity,
      verb,
      entityId: actor.entityId,
      data: {},
      actor: { kind: 'system', id: 'timer' },
      correlationId,
      causationId: id,
    };
    const reply = await this.opts
      .send(cmd)
      .catch((err) => ({ ok: false as const, error: { code: 'UNAVAILABLE' as const, message: String(err) } }));
    if (reply.ok) {
      this.log.info(
        { correlationId, entity: actor.entity, entityId: actor.entityId, verb, deadline: at },
        'deadline fired',
      );
    } else if (reply.error.code === 'UNAVAILABLE' || reply.error.code === 'CONFLICT') {
      this.log.warn({ correlationId, code: reply.error.code }, 'deadline command not delivered; retrying');
      setTimeout(() => void this.fire(actor, verb, at), this.opts.retryMs ?? 1_000).unref();
    } else {
      // The actor moved on (renewed, released) before the read model caught up: nothing to do.
      this.log.debug({ correlationId, code: reply.error.code, msg: reply.error.message }, 'deadline no longer applies');
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const ts of this.armed.values()) for (const t of ts.values()) clearTimeout(t);
    this.armed.clear();
    await this.watching;
  }
}
