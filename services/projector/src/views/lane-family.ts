import { TetherError } from '@tether/contracts';
import type { EventStore } from '@tether/runtime';
import { listActorsOf } from './actor-reads.ts';

/** An actor's key in a family: "<entity>:<entityId>" (ids of different kinds may repeat). */
export const actorKey = (entity: string, entityId: string) => `${entity}:${entityId}`;

/**
 * A lane and everything that belongs to it, from the actors read model: its sessions, terminals,
 * shares, handoffs, task runs, their live sessions, and the approvals that held its shares and
 * handoffs. Keys are actorKey(); a lane the read model does not know is NOT_FOUND.
 */
export async function laneFamily(store: EventStore, laneId: string): Promise<Set<string>> {
  const [lanes, sessions, terminals, shares, handoffs, runs, lives, approvals] = await Promise.all([
    listActorsOf(store, 'lane', (a) => a.entityId === laneId),
    listActorsOf(store, 'session', (a) => a.context.laneId === laneId),
    listActorsOf(store, 'terminal', (a) => a.context.laneId === laneId),
    listActorsOf(store, 'share', (a) => a.context.laneId === laneId),
    listActorsOf(store, 'handoff', (a) => a.context.laneId === laneId),
    listActorsOf(store, 'taskRun', (a) => a.context.laneId === laneId),
    listActorsOf(store, 'liveSession'),
    listActorsOf(store, 'approval'),
  ]);
  if (lanes.length === 0) throw new TetherError('NOT_FOUND', `lane ${laneId} does not exist`);
  const family = new Set<string>();
  for (const a of [...lanes, ...sessions, ...terminals, ...shares, ...handoffs, ...runs])
    family.add(actorKey(a.entity, a.entityId));
  for (const l of lives)
    if (family.has(actorKey('taskRun', l.context.taskRunId))) family.add(actorKey(l.entity, l.entityId));
  for (const a of approvals) {
    const held = a.context.shareId
      ? actorKey('share', a.context.shareId)
      : actorKey('handoff', a.context.handoffId ?? '');
    if (family.has(held)) family.add(actorKey(a.entity, a.entityId));
  }
  return family;
}
