import { ACTORS_BUCKET } from '@tether/contracts';
import type { SavedActor } from './actor/fold.ts';
import type { EventStore } from './store/port.ts';

/** How projections store a document: the value and the stream seq it reflects (applying twice changes nothing). */
export interface ProjectedDoc<T> {
  lastSeq: number;
  value: T;
}

/** Actors from the actors read model, of one entity kind (or all), ordered by key. */
export async function listActors(
  store: EventStore,
  entity?: string,
  where: (a: SavedActor) => boolean = () => true,
): Promise<SavedActor[]> {
  const kv = await store.kv(ACTORS_BUCKET);
  // entries(): each key once, even when the projection rewrites one while the list is read.
  const docs = await kv.entries<ProjectedDoc<SavedActor>>(entity ? `${entity}.` : '');
  return docs.map((d) => d.value.value).filter(where);
}
