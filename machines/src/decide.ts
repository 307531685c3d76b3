import { transition, type AnyMachineSnapshot } from 'xstate';
import { ENVELOPE_VERSION, type Command, type EventEnvelope } from '@tether/contracts';
import type { EntityDefinition } from './entity.ts';
import { machineEvent } from './fold.ts';
import { explain } from './rejections.ts';

/** An actor as decide() sees it: its machine snapshot and how many events made it (0 = none yet). */
export interface ActorState {
  snapshot: AnyMachineSnapshot;
  version: number;
}

/** A validated command naming its entity. */
export type EntityCommand = Command & { entityId: string };

/** What the host stamps on the event: decide() reads no clock and makes no ids. */
export interface Stamp {
  at: string;
  eventId: string;
}

/** A command refused by the entity; nothing is written. The host answers it as a TetherError. */
export interface Refusal {
  code: 'NOT_FOUND' | 'ALREADY_EXISTS' | 'NOT_ALLOWED';
  /** Machine-specific reason, e.g. LEASE_RELEASED (none for NOT_FOUND). */
  reason?: string;
  message: string;
}

export type Decision = { event: EventEnvelope; next: AnyMachineSnapshot } | Refusal;

export const isRefusal = (d: Decision): d is Refusal => 'code' in d;

/**
 * The one rule of every entity: the event a command proposes and the state it leads to, or why the
 * entity refuses it (it does not exist, exists already, or its machine says no, with the machine's reason).
 */
export function decide(def: EntityDefinition, actor: ActorState, cmd: EntityCommand, stamp: Stamp): Decision {
  const id = cmd.entityId;
  const verb = Object.hasOwn(def.contract, cmd.verb) ? def.contract[cmd.verb] : undefined;
  const lifecycle = verb?.creates ? 'creates' : verb?.upsert ? 'upsert' : 'existing';
  if (actor.version === 0 && lifecycle === 'existing')
    return { code: 'NOT_FOUND', message: `${cmd.entity} ${id} does not exist` };
  if (actor.version > 0 && lifecycle === 'creates')
    return {
      code: 'ALREADY_EXISTS',
      reason: 'ALREADY_EXISTS',
      message: `${cmd.entity} ${id} exists already (version ${actor.version}); pick another id`,
    };
  const proposed = { type: `${cmd.entity}.${cmd.verb}`, entity: cmd.entity, at: stamp.at, actor: cmd.actor };
  const ev = machineEvent({ ...proposed, data: cmd.data });
  const s = actor.snapshot;
  if (!s.can(ev)) {
    const why = explain(def.rejections, s, { id, event: ev });
    return {
      code: 'NOT_ALLOWED',
      reason: why?.reason ?? 'INVALID_STATE',
      message:
        why?.message ?? `${cmd.entity} ${id} is ${JSON.stringify(s.value)}; ${cmd.verb} is not possible in that state`,
    };
  }
  const next = transition(def.machine, s, ev)[0] as AnyMachineSnapshot;
  const event: EventEnvelope = {
    id: stamp.eventId,
    ...proposed,
    data: cmd.data,
    entityId: id,
    seq: actor.version + 1,
    correlationId: cmd.correlationId,
    causationId: cmd.id,
    ...(cmd.principal ? { credentialId: cmd.principal.credentialId } : {}),
    state: next.value as EventEnvelope['state'],
    v: ENVELOPE_VERSION,
  };
  return { event, next };
}
