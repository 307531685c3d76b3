import fc from 'fast-check';
import { registry } from '@tether/machines';
import type { SavedActor } from '@tether/runtime';

// Ids for generated commands that name actors existing when the command runs: the generator places a
// Ref where an id goes, and the run resolves it against what it knows of the world at that moment.

/**
 * An id drawn, when the step runs, from a pool of ids that exist then: a live one (its actor has not
 * reached a final state) or any (whatever state it is in), mostly one related to the ids the command
 * already names (the session of the lane it names), or a fresh id.
 */
export class Ref {
  constructor(
    readonly pool: string,
    readonly pick: number,
    readonly from: 'live' | 'any' | { fresh: string },
    readonly related: boolean,
  ) {}
  toString() {
    if (typeof this.from === 'object') return `fresh ${this.pool} ${this.from.fresh}`;
    return `${this.from}${this.related ? ' related' : ''} ${this.pool}#${this.pick}`;
  }
}

/**
 * What the run knows of the world: ids by pool, whether an actor has ended (by "pool:id", from its own
 * document only), and which ids appear together.
 */
export interface Known {
  pools: Map<string, Set<string>>;
  ended: Map<string, boolean>;
  links: Map<string, Set<string>>;
}
/** True once an actor is in a final state of its machine (a closed lane, an ended share). */
const ended = (entity: string, value: unknown) =>
  typeof value === 'string' && registry[entity as keyof typeof registry]?.machine.states[value]?.type === 'final';

/** The pool a field draws from, by its name: lane_id and laneId name lanes, codexSessionId codex session ids. */
export function poolOf(field: string): string | undefined {
  const camel = field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return camel.length > 2 && camel.endsWith('Id') ? camel : undefined;
}

const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/);
/** Mostly a live actor related to the ones the command names already; now and then any actor, an unrelated one or a fresh id. */
export const refTo = (pool: string) =>
  fc.oneof(
    {
      weight: 15,
      arbitrary: fc
        .tuple(fc.nat(), fc.nat({ max: 4 }), fc.nat({ max: 4 }))
        .map(([n, from, related]) => new Ref(pool, n, from === 0 ? 'any' : 'live', related !== 0)),
    },
    { weight: 1, arbitrary: token.map((fresh) => new Ref(pool, 0, { fresh }, false)) },
  );

/**
 * Adds the ids a document names, the actor's own id first: fields named like ids, and lists or maps
 * of them ("shares", "participants"); the ids of one document are related.
 */
export function learn(known: Known, entity: string, entityId: string, value: unknown, doc: unknown) {
  const found: string[] = [];
  const add = (pool: string | undefined, id: unknown) => {
    if (!pool || typeof id !== 'string') return;
    (known.pools.get(pool) ?? known.pools.set(pool, new Set()).get(pool)!).add(id);
    found.push(id);
  };
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === 'string') add(poolOf(k), v);
      else if (k.endsWith('s') && Array.isArray(v)) for (const id of v) add(poolOf(`${k.slice(0, -1)}Id`), id);
      else if (k.endsWith('s') && v && typeof v === 'object') {
        for (const id of Object.keys(v)) add(poolOf(`${k.slice(0, -1)}Id`), id);
        walk(v);
      } else walk(v);
    }
  };
  add(`${entity}Id`, entityId);
  known.ended.set(`${entity}Id:${entityId}`, ended(entity, value));
  walk(doc);
  for (const a of found)
    for (const b of found) if (a !== b) (known.links.get(a) ?? known.links.set(a, new Set()).get(a)!).add(b);
}

export function knownFrom(actors: SavedActor[]): Known {
  const known: Known = { pools: new Map(), ended: new Map(), links: new Map() };
  for (const a of actors) learn(known, a.entity, a.entityId, a.value, a.context);
  return known;
}

/** The value with every Ref replaced by an id of its pool; `named` gathers the ids chosen so far. */
export function resolve(value: unknown, known: Known, named: string[] = []): unknown {
  if (value instanceof Ref) {
    if (typeof value.from === 'object') return value.from.fresh;
    let ids = [...(known.pools.get(value.pool) ?? [])].sort();
    const related = ids.filter((id) => named.some((n) => known.links.get(n)?.has(id)));
    if (value.related && related.length > 0) ids = related;
    const live = ids.filter((id) => !known.ended.get(`${value.pool}:${id}`));
    if (value.from === 'live' && live.length > 0) ids = live;
    const id = ids.length === 0 ? 'none-yet' : ids[value.pick % ids.length]!;
    named.push(id);
    return id;
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, known, named));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, known, named)]));
  return value;
}
