import { randomUUID } from 'node:crypto';
import { ENVELOPE_VERSION, type Actor, type EventEnvelope } from '@tether/contracts';

/** The actor the NATS command bus stamps on commands that name none (bus/nats-bus.ts). */
export const BUS_ACTOR: Actor = { kind: 'service', id: 'nats' };

export const TTL_MS = 3_600_000;

/**
 * A lease event envelope exactly as ActorHost.propose builds it for a command sent over NATS:
 * uuid ids, the command id as causation and correlation, the bus actor, the state after the
 * transition (`held` for create and renew), envelope version 1.
 */
export function leaseEvent(entityId: string, seq: number, at: string): EventEnvelope {
  const commandId = randomUUID();
  const verb = seq === 1 ? 'create' : 'renew';
  return {
    id: randomUUID(),
    type: `lease.${verb}`,
    entity: 'lease',
    at,
    actor: BUS_ACTOR,
    data: seq === 1 ? { holder: `holder-${entityId}`, ttlMs: TTL_MS } : {},
    entityId,
    seq,
    correlationId: commandId,
    causationId: commandId,
    state: 'held',
    v: ENVELOPE_VERSION,
  };
}

/** Entity ids shaped like the ones a client would pick. */
export const entityIds = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${i.toString().padStart(5, '0')}-${randomUUID().slice(0, 8)}`);
