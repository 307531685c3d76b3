import { randomUUID } from 'node:crypto';
import { transition, type AnyMachineSnapshot } from 'xstate';
import { CommandReply, type Command } from '@tether/contracts';
import type { EntityDefinition } from '@tether/machines';
import { ActorHost, encodeJson, initialSnapshot, machineEvent, parseJsonBody, toCommand, uuid } from '@tether/runtime';
import { BUS_ACTOR, TTL_MS, leaseEvent } from './envelope.ts';

const BUS_PRINCIPAL = { actor: BUS_ACTOR, role: 'service' as const, credentialId: 'bench' };
import { FakeEventStore } from './fake-store.ts';
import { microsPerCall, oneAtATime } from './timing.ts';

// In-process CPU cost of one lease.renew, step by step, with no I/O: the part of a command that
// is tether's own work. The full path adds the NATS round trips measured elsewhere in the run.

const cmd = (verb: string, entityId: string, data: Record<string, unknown>): Command => {
  const id = randomUUID();
  return { id, entity: 'lease', verb, entityId, data, actor: BUS_ACTOR, correlationId: id, causationId: id };
};

export async function measureCommandSteps(registry: Record<string, EntityDefinition>, n = 20_000) {
  const def = registry.lease!;
  const request = new TextEncoder().encode(JSON.stringify({ entityId: 'pl-00001-abcdef12' }));
  const event = leaseEvent('pl-00001-abcdef12', 2, new Date().toISOString());
  const held = transition(
    def.machine,
    initialSnapshot(def),
    machineEvent(leaseEvent('x', 1, event.at)),
  )[0] as AnyMachineSnapshot;
  const ev = machineEvent(event);
  const reply = {
    ok: true,
    commandId: randomUUID(),
    entity: 'lease',
    entityId: 'pl-00001-abcdef12',
    seq: 2,
    streamSeq: 123_456,
    state: 'held',
    correlationId: randomUUID(),
    duplicate: false,
  };

  const steps = {
    /** bus: decode the request body and validate the command envelope (zod). */
    intakeMicros: microsPerCall(n, () => toCommand('lease', 'renew', parseJsonBody(request), uuid, BUS_PRINCIPAL)),
    /** host: validate the verb's data (zod). */
    validateDataMicros: microsPerCall(n, () => def.contract.renew!.data.safeParse({})),
    /** host: may the machine take the event? */
    canMicros: microsPerCall(n, () => held.can(ev)),
    /** host: xstate transition() of one renew (builds an inert actor per call). */
    transitionMicros: microsPerCall(n, () => transition(def.machine, held, ev)),
    /** store adapter: event envelope to JSON bytes. */
    encodeEventMicros: microsPerCall(n, () => encodeJson(event)),
    /** bus reply to JSON, then the client's JSON.parse + CommandReply zod parse (sendCommand). */
    replyMicros: microsPerCall(n, () => CommandReply.parse(JSON.parse(new TextDecoder().decode(encodeJson(reply))))),
  };

  // The whole ActorHost.execute (validate, keyed queue, cache, can, transition, envelope, append) on a fake store.
  const host = new ActorHost({ store: new FakeEventStore(), registry });
  const ids = Array.from({ length: 100 }, (_, i) => `bd-${i}`);
  for (const id of ids) await host.execute(cmd('create', id, { holder: 'ann', ttlMs: TTL_MS }));
  await oneAtATime(2_000, (i) => host.execute(cmd('renew', ids[i % ids.length]!, {})));
  const { ms } = await oneAtATime(n, (i) => host.execute(cmd('renew', ids[i % ids.length]!, {})));
  return { ...round(steps), hostExecuteMicros: round1((ms * 1000) / n) };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round = <T extends Record<string, number>>(o: T) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round1(v)])) as T;
