import { createHash } from 'node:crypto';
import type { Command, CommandAccepted } from '@tether/contracts';
import type { ActorHost } from '../actor/host.ts';

/** A step's command id, derived from the caller's: a resent command repeats the same steps idempotently. */
export const stepId = (commandId: string, step: string) =>
  createHash('sha256').update(`${commandId}:${step}`).digest('hex').slice(0, 40);

/**
 * The steps of application command `cmd`: each runs one entity command through the host as cmd's actor,
 * caused by cmd, with an id derived from cmd's and `key` (by default "entity.verb.entityId").
 */
export function commandSteps(host: ActorHost, cmd: Command) {
  return (
    entity: string,
    verb: string,
    entityId: string,
    data: Record<string, unknown>,
    key = `${entity}.${verb}.${entityId}`,
  ): Promise<CommandAccepted> =>
    host.execute({ ...cmd, id: stepId(cmd.id, key), entity, verb, entityId, data, causationId: cmd.id });
}
