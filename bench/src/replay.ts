import type { JetStreamClient } from '@nats-io/jetstream';
import { STREAM_EVENTS, subjects, type EventEnvelope, type StoredEvent } from '@tether/contracts';
import type { EntityDefinition } from '@tether/machines';
import {
  applyEvent,
  initialSnapshot,
  rebuildActors,
  saveActor,
  type JetStreamEventStore,
  type SavedActor,
} from '@tether/runtime';
import { entityIds, leaseEvent } from './envelope.ts';
import { FakeEventStore } from './fake-store.ts';
import { rawRead } from './raw.ts';
import { log, rate, windowed } from './timing.ts';

// Crash recovery's read path: every actor rebuilt from TETHER_EVENTS, against the raw ordered read of the same events.

export interface ReplayOptions {
  entities: number;
  eventsPerEntity: number;
  /** Appends in flight while writing the history. */
  window: number;
  /** Entities whose rebuilt state is compared with a plain applyEvent fold. */
  sample: number;
  /** Measured raw-read / rebuild pairs; each figure is the best of its rounds. */
  rounds: number;
}

/**
 * Writes `entities` × `eventsPerEntity` lease events (1 create + renews, contiguous versions,
 * the expected last subject sequence and a msgID on each, as the actor host appends them).
 * Returns the stream seq before the first one and each entity's last stream seq.
 */
export async function writeHistory(store: JetStreamEventStore, o: ReplayOptions) {
  const ids = entityIds('rp', o.entities);
  const lastSeq = new Map<string, number>();
  const inFlight = new Map<string, Promise<unknown>>();
  const startSeq = await store.lastStreamSeq();
  const base = Date.now();
  const total = o.entities * o.eventsPerEntity;
  const ms = await windowed(total, o.window, async (i) => {
    const entityId = ids[i % o.entities]!;
    const seq = Math.floor(i / o.entities) + 1;
    await inFlight.get(entityId); // versions of one entity are appended in order
    const event = leaseEvent(entityId, seq, new Date(base + seq).toISOString());
    const p = store.append(event, { expectedLastSeq: lastSeq.get(entityId) ?? 0, msgId: event.causationId });
    inFlight.set(entityId, p);
    const { streamSeq, duplicate } = await p;
    if (duplicate) throw new Error(`history event ${entityId}@${seq} was taken for a duplicate`);
    lastSeq.set(entityId, streamSeq);
  });
  log(`wrote ${total} events in ${(ms / 1000).toFixed(1)} s (${Math.round(rate(total, ms))}/s)`);
  return { startSeq, lastSeq, total };
}

/** Every rebuilt actor must be the lease the history describes: the benchmark cannot pass by doing nothing. */
function verify(actors: Map<string, SavedActor>, lastSeq: Map<string, number>, eventsPerEntity: number) {
  if (actors.size !== lastSeq.size) throw new Error(`rebuild produced ${actors.size} actors, expected ${lastSeq.size}`);
  for (const [entityId, streamSeq] of lastSeq) {
    const a = actors.get(`lease.${entityId}`);
    const ctx = a?.context as { renewals?: number; holder?: string } | undefined;
    if (
      !a ||
      a.version !== eventsPerEntity ||
      a.streamSeq !== streamSeq ||
      a.value !== 'held' ||
      ctx?.renewals !== eventsPerEntity - 1 ||
      ctx.holder !== `holder-${entityId}`
    ) {
      throw new Error(`rebuilt lease ${entityId} is wrong: ${JSON.stringify(a)}`);
    }
  }
}

/** The rebuild's cheaper fold must equal applyEvent (xstate's transition()) exactly. */
async function assertSameAsApplyEvent(
  store: JetStreamEventStore,
  def: EntityDefinition,
  actors: Map<string, SavedActor>,
  ids: string[],
) {
  for (const entityId of ids) {
    let s = initialSnapshot(def);
    let version = 0;
    let streamSeq = 0;
    for (const e of await store.readEntity(def.name, entityId)) {
      s = applyEvent(def, s, e.event);
      version = e.event.seq;
      streamSeq = e.streamSeq;
    }
    const expected = JSON.stringify(saveActor(def.name, entityId, version, streamSeq, s));
    const got = JSON.stringify(actors.get(`lease.${entityId}`));
    if (got !== expected)
      throw new Error(
        `rebuildActors differs from applyEvent for ${entityId}:\n  rebuild    ${got}\n  applyEvent ${expected}`,
      );
  }
}

export async function measureReplay(
  store: JetStreamEventStore,
  js: JetStreamClient,
  registry: Record<string, EntityDefinition>,
  o: ReplayOptions,
) {
  const { startSeq, lastSeq, total } = await writeHistory(store, o);
  const filter = subjects.allEvents;
  const rebuild = () => rebuildActors(store, registry, { filter, afterStreamSeq: startSeq });

  // The machine is shared and noisy: warm both up, then alternate them and keep each one's best.
  log(`raw ordered read and rebuildActors of the ${total} events: warm-up, then ${o.rounds} alternating rounds`);
  await rawRead(js, STREAM_EVENTS, filter, startSeq, total);
  verify(await rebuild(), lastSeq, o.eventsPerEntity);
  const rawRuns: number[] = [];
  const rebuildRuns: number[] = [];
  let actors = new Map<string, SavedActor>();
  for (let round = 0; round < o.rounds; round++) {
    rawRuns.push((await rawRead(js, STREAM_EVENTS, filter, startSeq, total)).perSec);
    const t0 = performance.now();
    actors = await rebuild();
    rebuildRuns.push(rate(total, performance.now() - t0));
    verify(actors, lastSeq, o.eventsPerEntity);
  }
  const sampleIds = [...lastSeq.keys()]
    .filter((_, i) => i % Math.max(1, Math.floor(lastSeq.size / o.sample)) === 0)
    .slice(0, o.sample);
  await assertSameAsApplyEvent(store, registry.lease!, actors, sampleIds);

  // Where a rebuild's time goes: reading + decoding (store.readAll), then folding in memory.
  log('rebuild phases: readAll alone, fold alone (applyEvent vs rebuildActors on a fake in-memory store)');
  const events: StoredEvent[] = [];
  let t = performance.now();
  for await (const e of store.readAll({ filter, afterStreamSeq: startSeq })) events.push(e);
  const readAllMs = performance.now() - t;
  const def = registry.lease!;
  const foldWithApplyEvent = (from: EventEnvelope[]) => {
    const folded = new Map<string, ReturnType<typeof initialSnapshot>>();
    for (const event of from)
      folded.set(event.entityId, applyEvent(def, folded.get(event.entityId) ?? initialSnapshot(def), event));
  };
  const envelopes = events.map((e) => e.event);
  foldWithApplyEvent(envelopes.slice(0, 10_000)); // warm-up
  t = performance.now();
  foldWithApplyEvent(envelopes);
  const applyEventMs = performance.now() - t;
  const fake = new FakeEventStore().load(events);
  await rebuildActors(fake, registry); // warm-up
  t = performance.now();
  verify(await rebuildActors(fake, registry), lastSeq, o.eventsPerEntity);
  const foldMs = performance.now() - t;

  return {
    replayEvents: total,
    replayEntities: o.entities,
    rawReadPerSec: Math.max(...rawRuns),
    replayEventsPerSec: Math.max(...rebuildRuns),
    rawReadRuns: rawRuns.map(Math.round),
    replayRuns: rebuildRuns.map(Math.round),
    replayVerified: {
      actors: actors.size,
      version: o.eventsPerEntity,
      renewals: o.eventsPerEntity - 1,
      sameAsApplyEvent: sampleIds.length,
    },
    replayPhases: {
      readAllPerSec: rate(total, readAllMs),
      foldApplyEventPerSec: rate(total, applyEventMs),
      foldRebuildPerSec: rate(total, foldMs),
    },
  };
}
