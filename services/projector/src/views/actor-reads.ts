import { TetherError } from '@tether/contracts';
import type { EntityContexts, EntityName } from '@tether/machines';
import { listActors, type EventStore, type SavedActor } from '@tether/runtime';

/** A saved actor of entity E, its context typed by E's machine. */
export interface ActorOf<E extends EntityName> extends SavedActor {
  entity: E;
  context: EntityContexts[E];
}

/** Where actors are read from: the host (its cache, or a replay of the entity's events). */
export interface ActorReader {
  state(entity: string, entityId: string): Promise<SavedActor | undefined>;
}

/** The one place a saved actor's context gets its type: checked by entity name, which fixes the machine. */
export function actorOf<E extends EntityName>(entity: E, a: SavedActor): ActorOf<E> {
  if (a.entity !== entity) throw new TetherError('INTERNAL', `${a.entity} ${a.entityId} was read as a ${entity}`);
  return a as ActorOf<E>;
}

/** One actor as it is now, typed: `readActor(host, 'lane', id)` has a LaneContext. */
export async function readActor<E extends EntityName>(
  reader: ActorReader,
  entity: E,
  entityId: string,
): Promise<ActorOf<E> | undefined> {
  const a = await reader.state(entity, entityId);
  return a && actorOf(entity, a);
}

/** Actors of one entity from the actors read model, typed, ordered by id. */
export async function listActorsOf<E extends EntityName>(
  store: EventStore,
  entity: E,
  where: (a: ActorOf<E>) => boolean = () => true,
): Promise<ActorOf<E>[]> {
  return (await listActors(store, entity)).map((a) => actorOf(entity, a)).filter(where);
}
