import type { CommandAccepted } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { call } from '../http.ts';
import type { Out } from '../output.ts';

/** `tether send <entity> <verb> [--entity-id ID] [--id CMD] [--data JSON]`: one command through the gateway. */
export async function send(
  out: Out,
  entity: string | undefined,
  verb: string | undefined,
  flags: { 'entity-id'?: string; id?: string; data?: string },
): Promise<number> {
  if (!entity || !verb)
    throw new TetherError(
      'INVALID_COMMAND',
      'usage: tether send <entity> <verb> [--entity-id ID] [--id COMMAND_ID] [--data JSON]',
    );
  let data: unknown = {};
  try {
    data = flags.data ? JSON.parse(flags.data) : {};
  } catch (err) {
    throw new TetherError('INVALID_COMMAND', `--data is not JSON: ${(err as Error).message}`);
  }
  const body = {
    ...(flags['entity-id'] ? { entityId: flags['entity-id'] } : {}),
    ...(flags.id ? { id: flags.id } : {}),
    data,
    actor: { kind: 'human', id: process.env.USER ?? 'cli' },
  };
  const reply = await call<CommandAccepted>(
    'POST',
    `/v1/commands/${encodeURIComponent(entity)}/${encodeURIComponent(verb)}`,
    body,
  );
  out.print(
    `${reply.entity} ${reply.entityId} v${reply.seq} -> ${JSON.stringify(reply.state)}${reply.duplicate ? ' (already applied)' : ''}`,
    reply,
  );
  return 0;
}
