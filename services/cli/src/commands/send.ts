import { CommandReply, TetherError } from '@tether/contracts';
import type { Out } from '../output.ts';

export const apiUrl = () => process.env.TETHER_URL ?? `http://127.0.0.1:${process.env.TETHER_PORT ?? 7420}`;

/** `tether send <entity> <verb> [--entity-id ID] [--id CMD] [--data JSON]`: one command through the gateway. */
export async function send(out: Out, entity: string | undefined, verb: string | undefined, flags: { 'entity-id'?: string; id?: string; data?: string }): Promise<number> {
  if (!entity || !verb) throw new TetherError('INVALID_COMMAND', 'usage: tether send <entity> <verb> [--entity-id ID] [--id COMMAND_ID] [--data JSON]');
  let data: unknown = {};
  try {
    data = flags.data ? JSON.parse(flags.data) : {};
  } catch (err) {
    throw new TetherError('INVALID_COMMAND', `--data is not JSON: ${(err as Error).message}`);
  }
  const body = { ...(flags['entity-id'] ? { entityId: flags['entity-id'] } : {}), ...(flags.id ? { id: flags.id } : {}), data, actor: { kind: 'human', id: process.env.USER ?? 'cli' } };
  let res: Response;
  try {
    res = await fetch(`${apiUrl()}/v1/commands/${encodeURIComponent(entity)}/${encodeURIComponent(verb)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    throw new TetherError('UNAVAILABLE', `cannot reach tether at ${apiUrl()}: ${(err as Error).message}; run \`tether up\` or set TETHER_URL`);
  }
  const reply = CommandReply.parse(await res.json());
  if (!reply.ok) throw new TetherError(reply.error.code, reply.error.message, { reason: reply.error.reason, issues: reply.error.issues });
  out.print(`${reply.entity} ${reply.entityId} v${reply.seq} -> ${JSON.stringify(reply.state)}${reply.duplicate ? ' (already applied)' : ''}`, reply);
  return 0;
}
