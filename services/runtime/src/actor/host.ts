import { createHash } from 'node:crypto';
import type { AnyMachineSnapshot } from 'xstate';
import {
  invalid,
  TetherError,
  type Command,
  type CommandAccepted,
  type EventEnvelope,
  type VerbContract,
} from '@tether/contracts';
import { decide, isRefusal, type EntityDefinition } from '@tether/machines';
import { DEFAULT_COMMAND_RETENTION_MS, expired } from '../bus/command-ledger.ts';
import { systemClock, uuid, type Clock, type IdGenerator } from '../clock.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { WrongLastSequenceError, type EventStore, type KvBucket } from '../store/port.ts';
import { applyEvent, initialSnapshot, restoreSnapshot, saveActor, type SavedActor } from './fold.ts';
import { LruMap } from './lru.ts';
import { KeyedQueue } from './keyed-queue.ts';

export interface ActorHostOptions {
  store: EventStore;
  registry: Record<string, EntityDefinition>;
  clock?: Clock;
  /** Event ids (entity ids of creates derive from their command ids instead). */
  ids?: IdGenerator;
  logger?: Logger;
  /** A resend older than this is refused with COMMAND_EXPIRED, never applied again (default 7 days). */
  commandRetentionMs?: number;
  /** Save a KV snapshot every N events of an entity (0 = never). */
  snapshotEvery?: number;
  /** Attempts after an optimistic-concurrency conflict before answering CONFLICT. */
  maxConflictRetries?: number;
  /** Actors kept in memory. */
  cacheSize?: number;
  /**
   * Checks across entities (e.g. a terminal's lane must be ready), keyed "entity.verb"; they run
   * after validation and throw a TetherError to reject. OCC still guards each entity.
   */
  preconditions?: Record<string, (cmd: Command & { entityId: string }, host: ActorHost) => Promise<void>>;
}

export const SNAPSHOT_BUCKET = 'tether_snapshots';

interface LoadedActor {
  entityId: string;
  snapshot: AnyMachineSnapshot;
  version: number;
  streamSeq: number;
  /** Command id → the event it produced, for every event after `knownAfter`: a resend is answered, not re-applied. */
  commands: Map<string, AppliedCommand>;
  /** Stream sequence the command memory starts after (a KV snapshot's); 0 when it holds the whole history. */
  knownAfter: number;
}

interface AppliedCommand {
  seq: number;
  streamSeq: number;
  state: unknown;
  correlationId: string;
  at: string;
}

/**
 * Runs commands against actors: validate, load (cache → snapshot → replay), decide (pure, in
 * machines), append with OCC and msgID = command id, retry conflicts.
 */
export class ActorHost {
  private readonly cache: LruMap<string, LoadedActor>;
  private readonly queue = new KeyedQueue();
  private readonly applied: ((e: EventEnvelope) => void)[] = [];
  private readonly clock: Clock;
  private readonly ids: IdGenerator;
  private readonly log: Logger;
  private snapshots?: Promise<KvBucket>;

  constructor(private readonly opts: ActorHostOptions) {
    this.cache = new LruMap(opts.cacheSize ?? 10_000);
    this.clock = opts.clock ?? systemClock;
    this.ids = opts.ids ?? uuid;
    this.log = opts.logger ?? silentLogger;
  }

  definition(entity: string): EntityDefinition {
    // Own keys only: "constructor", "toString"… are valid entity names but not entities.
    const def = Object.hasOwn(this.opts.registry, entity) ? this.opts.registry[entity] : undefined;
    if (!def)
      throw new TetherError(
        'UNKNOWN_COMMAND',
        `unknown entity "${entity}"; known: ${Object.keys(this.opts.registry).join(', ')}`,
      );
    return def;
  }

  /** The contract of `entity.verb`, or undefined when there is no such command (own keys only: "lane.valueOf" is none). */
  verbContract(entity: string, verb: string): VerbContract | undefined {
    const def = Object.hasOwn(this.opts.registry, entity) ? this.opts.registry[entity] : undefined;
    return def && Object.hasOwn(def.contract, verb) ? def.contract[verb] : undefined;
  }

  /** Called with each event this host appends, once it is stored (e.g. a revoked credential stops working at once). */
  onApplied(listener: (e: EventEnvelope) => void): void {
    this.applied.push(listener);
  }

  /** Validates and applies one command; throws TetherError when it is rejected (nothing written). */
  async execute(cmd: Command): Promise<CommandAccepted> {
    const def = this.definition(cmd.entity);
    const verb = this.verbContract(cmd.entity, cmd.verb);
    if (!verb) {
      throw new TetherError(
        'UNKNOWN_COMMAND',
        `${cmd.entity} has no command "${cmd.verb}"; it accepts: ${Object.keys(def.contract).join(', ')}`,
      );
    }
    const parsed = verb.data.safeParse(cmd.data ?? {});
    if (!parsed.success) {
      throw invalid(`invalid data for ${cmd.entity}.${cmd.verb}`, parsed.error);
    }
    // A create's id derives from its command id: a resend after any crash or window names the same entity.
    const entityId = cmd.entityId ?? (verb.creates ? derivedId(cmd.entity, cmd.id) : undefined);
    if (!entityId)
      throw new TetherError('INVALID_COMMAND', `${cmd.entity}.${cmd.verb} needs an entityId`, {
        issues: [{ path: ['entityId'], message: 'required' }],
      });
    const key = `${cmd.entity}.${entityId}`;
    const ready = { ...cmd, entityId, data: parsed.data };
    const precondition = this.opts.preconditions?.[`${cmd.entity}.${cmd.verb}`];
    if (precondition) {
      // A resend is answered before the gate: the world it checks may have moved on since.
      const seen = await this.queue.run(key, async () => this.recall(def, await this.load(def, entityId), ready));
      if (seen) return seen;
      await precondition(ready, this);
    }
    return this.queue.run(key, () => this.applyWithRetries(def, ready, key));
  }

  private async applyWithRetries(
    def: EntityDefinition,
    cmd: Command & { entityId: string },
    key: string,
  ): Promise<CommandAccepted> {
    const retries = this.opts.maxConflictRetries ?? 8;
    for (let attempt = 0; ; attempt++) {
      const actor = await this.load(def, cmd.entityId);
      const seen = await this.recall(def, actor, cmd);
      if (seen) return seen;
      const decision = decide(def, actor, cmd, { at: this.clock.now().toISOString(), eventId: this.ids() });
      if (isRefusal(decision)) throw new TetherError(decision.code, decision.message, { reason: decision.reason });
      try {
        const { streamSeq, duplicate } = await this.opts.store.append(decision.event, {
          expectedLastSeq: actor.streamSeq,
          msgId: cmd.id,
        });
        if (duplicate) return await this.answerDuplicate(cmd, key, streamSeq);
        this.remember(key, actor, decision.next, decision.event, streamSeq);
        this.saveSnapshotEvery(def, actor, decision.event);
        for (const listener of this.applied) listener(decision.event);
        return this.accepted(
          cmd,
          decision.event.seq,
          streamSeq,
          decision.event.state,
          decision.event.correlationId,
          false,
        );
      } catch (err) {
        if (!(err instanceof WrongLastSequenceError)) {
          this.cache.delete(key); // unknown outcome: the event may or may not be stored
          throw err;
        }
        if (attempt >= retries) {
          this.cache.delete(key);
          throw new TetherError(
            'CONFLICT',
            `${key} kept changing under ${retries + 1} attempts; resend the command with the same id`,
          );
        }
        this.log.debug({ key, attempt, correlationId: cmd.correlationId }, 'append conflict; catching up');
        // Jitter spreads hosts that collided apart; catching up reads only the events we missed.
        await new Promise((r) => setTimeout(r, Math.random() * 2 * (attempt + 1)));
        await this.catchUp(def, actor);
      }
    }
  }

  /** The original answer when the actor already applied `cmd.id`; COMMAND_EXPIRED past the retention. */
  private async recall(
    def: EntityDefinition,
    actor: LoadedActor,
    cmd: Command & { entityId: string },
  ): Promise<CommandAccepted | undefined> {
    if (!actor.commands.has(cmd.id) && actor.knownAfter > 0) await this.recallEarlier(def, actor);
    const seen = actor.commands.get(cmd.id);
    if (!seen) return undefined;
    const retention = this.opts.commandRetentionMs ?? DEFAULT_COMMAND_RETENTION_MS;
    if (Date.parse(seen.at) + retention <= this.clock.now().getTime()) throw expired(cmd.id, seen.at, retention);
    return this.accepted(cmd, seen.seq, seen.streamSeq, seen.state, seen.correlationId, true);
  }

  /** An actor restored from a KV snapshot learns the command ids of the events before it, once. */
  private async recallEarlier(def: EntityDefinition, actor: LoadedActor) {
    for (const stored of await this.opts.store.readEntity(def.name, actor.entityId)) {
      if (stored.streamSeq > actor.knownAfter) break;
      rememberCommand(actor, stored.event, stored.streamSeq);
    }
    actor.knownAfter = 0;
  }

  private async answerDuplicate(
    cmd: Command & { entityId: string },
    key: string,
    streamSeq: number,
  ): Promise<CommandAccepted> {
    const original = await this.opts.store.getEvent(streamSeq);
    if (!original || original.event.causationId !== cmd.id) {
      throw new TetherError(
        'CONFLICT',
        `command id ${cmd.id} was already used for another event (stream seq ${streamSeq}); use a fresh id`,
      );
    }
    if (original.event.entity !== cmd.entity || original.event.entityId !== cmd.entityId) {
      throw new TetherError(
        'CONFLICT',
        `command id ${cmd.id} was already used for ${original.event.entity} ${original.event.entityId}; use a fresh id`,
      );
    }
    this.cache.delete(key);
    const e = original.event;
    return this.accepted(cmd, e.seq, streamSeq, e.state, e.correlationId, true);
  }

  private remember(key: string, actor: LoadedActor, next: AnyMachineSnapshot, e: EventEnvelope, streamSeq: number) {
    actor.snapshot = next;
    actor.version = e.seq;
    actor.streamSeq = streamSeq;
    rememberCommand(actor, e, streamSeq);
    this.cache.set(key, actor);
  }

  /** Writes a KV snapshot every `snapshotEvery` events, in the background: replay works without it. */
  private saveSnapshotEvery(def: EntityDefinition, actor: LoadedActor, e: EventEnvelope) {
    const every = this.opts.snapshotEvery ?? 0;
    if (every > 0 && e.seq % every === 0) {
      const saved = saveActor(def.name, e.entityId, actor.version, actor.streamSeq, actor.snapshot);
      void this.snapshotBucket()
        .then((b) => b.put(`${def.name}.${e.entityId}`, saved))
        .catch((err) =>
          this.log.warn(
            { err: String(err), correlationId: e.correlationId },
            'snapshot write failed; replay still works',
          ),
        );
    }
  }

  private accepted(
    cmd: Command & { entityId: string },
    seq: number,
    streamSeq: number,
    state: unknown,
    correlationId: string,
    duplicate: boolean,
  ): CommandAccepted {
    return {
      ok: true,
      commandId: cmd.id,
      entity: cmd.entity,
      entityId: cmd.entityId,
      seq,
      streamSeq,
      state: state as CommandAccepted['state'],
      correlationId,
      duplicate,
    };
  }

  /** The actor's current state: memory, else the KV snapshot plus the events after it, else a full replay. */
  async load(def: EntityDefinition, entityId: string): Promise<LoadedActor> {
    const key = `${def.name}.${entityId}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    let actor: LoadedActor = {
      entityId,
      snapshot: initialSnapshot(def),
      version: 0,
      streamSeq: 0,
      commands: new Map(),
      knownAfter: 0,
    };
    if ((this.opts.snapshotEvery ?? 0) > 0) {
      const saved = await this.readSnapshot(key);
      if (saved)
        actor = {
          entityId,
          snapshot: restoreSnapshot(def, saved.value, saved.context),
          version: saved.version,
          streamSeq: saved.streamSeq,
          commands: new Map(),
          knownAfter: saved.streamSeq,
        };
    }
    await this.catchUp(def, actor);
    if (actor.version > 0) this.cache.set(key, actor);
    return actor;
  }

  /** Applies the events appended after the actor's last known stream sequence. */
  private async catchUp(def: EntityDefinition, actor: LoadedActor) {
    for (const stored of await this.opts.store.readEntity(def.name, actor.entityId, actor.streamSeq)) {
      actor.snapshot = applyEvent(def, actor.snapshot, stored.event);
      actor.version = stored.event.seq;
      actor.streamSeq = stored.streamSeq;
      rememberCommand(actor, stored.event, stored.streamSeq);
    }
  }

  /** Public read of an actor for queries (strongly consistent: replays what the cache lacks). */
  async state(entity: string, entityId: string): Promise<SavedActor | undefined> {
    const def = this.definition(entity);
    const a = await this.queue.run(`${entity}.${entityId}`, async () => {
      const loaded = await this.load(def, entityId);
      await this.catchUp(def, loaded); // another process may have appended since we cached it
      return loaded;
    });
    return a.version === 0 ? undefined : saveActor(entity, entityId, a.version, a.streamSeq, a.snapshot);
  }

  /**
   * The actor as this process last applied or read it, when that holds stream sequence `streamSeq` or
   * later; else state(). A route answers with what its own command made (read your writes) without
   * queueing behind the commands that came after it: a revoked share's viewers leave as it ends, each
   * leave a report on the same share, and a read queued behind them waited for every one.
   */
  async stateAt(entity: string, entityId: string, streamSeq: number): Promise<SavedActor | undefined> {
    this.definition(entity); // an unknown entity is refused as state() refuses it
    const a = this.cache.get(`${entity}.${entityId}`);
    if (a && a.version > 0 && a.streamSeq >= streamSeq)
      return saveActor(entity, entityId, a.version, a.streamSeq, a.snapshot);
    return this.state(entity, entityId);
  }

  /** Replays the entity from scratch and compares with its KV snapshot: snapshots are only a shortcut. */
  async verifySnapshot(
    entity: string,
    entityId: string,
  ): Promise<{ ok: boolean; snapshot?: SavedActor; replayed: SavedActor }> {
    const def = this.definition(entity);
    let s = initialSnapshot(def);
    let version = 0;
    let streamSeq = 0;
    const snap = await this.readSnapshot(`${entity}.${entityId}`);
    for (const stored of await this.opts.store.readEntity(entity, entityId)) {
      s = applyEvent(def, s, stored.event);
      version = stored.event.seq;
      streamSeq = stored.streamSeq;
      if (snap && stored.streamSeq === snap.streamSeq) break;
    }
    const replayed = saveActor(entity, entityId, version, streamSeq, s);
    return { ok: !!snap && JSON.stringify(snap) === JSON.stringify(replayed), snapshot: snap, replayed };
  }

  private async readSnapshot(key: string): Promise<SavedActor | undefined> {
    try {
      return (await (await this.snapshotBucket()).get<SavedActor>(key))?.value;
    } catch (err) {
      this.log.warn({ err: String(err), key }, 'snapshot read failed; replaying from the start');
      return undefined;
    }
  }

  private snapshotBucket() {
    this.snapshots ??= this.opts.store.kv(SNAPSHOT_BUCKET);
    return this.snapshots;
  }

  /** Forgets cached actors (tests use it to force a replay). */
  clearCache() {
    this.cache.clear();
  }
}

function rememberCommand(actor: LoadedActor, e: EventEnvelope, streamSeq: number) {
  actor.commands.set(e.causationId, {
    seq: e.seq,
    streamSeq,
    state: e.state,
    correlationId: e.correlationId,
    at: e.at,
  });
}

/** A UUID-shaped id that is a function of the command id (RFC 9562 version 8: custom). */
export function derivedId(entity: string, commandId: string): string {
  const h = createHash('sha256').update(`${entity}:${commandId}`).digest('hex');
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
