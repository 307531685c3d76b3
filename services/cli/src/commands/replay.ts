import { TetherError } from '@tether/contracts/tether-error';
import { registry } from '@tether/machines';
import { replaySteps } from '@tether/runtime';
import { openStoreForClient } from '../store.ts';
import type { Out } from '../output.ts';

/** `tether replay <entity> <id> [--to-seq N]`: every event with the machine state after it. */
export async function replay(
  out: Out,
  entity: string | undefined,
  id: string | undefined,
  flags: { 'to-seq'?: number },
): Promise<number> {
  if (!entity || !id) throw new TetherError('INVALID_COMMAND', 'usage: tether replay <entity> <id> [--to-seq N]');
  const def = registry[entity];
  if (!def)
    throw new TetherError('UNKNOWN_COMMAND', `unknown entity "${entity}"; known: ${Object.keys(registry).join(', ')}`);
  const toSeq = flags['to-seq'] ?? Infinity; // checked while parsing: a whole number >= 1
  const store = await openStoreForClient();
  try {
    const events = await store.readEntity(entity, id);
    if (events.length === 0) throw new TetherError('NOT_FOUND', `${entity} ${id} has no events`);
    const steps = replaySteps(def, events, toSeq);
    const human = steps
      .map(
        (st) =>
          `v${st.seq} #${st.streamSeq} ${st.at} ${st.type} by ${st.actor.kind}:${st.actor.id}\n    data    ${JSON.stringify(st.data)}\n    state   ${JSON.stringify(st.state)}\n    context ${JSON.stringify(st.context)}`,
      )
      .join('\n');
    out.print(`${entity} ${id}: ${steps.length} of ${events.length} events\n${human}`, {
      entity,
      entityId: id,
      total: events.length,
      steps,
    });
  } finally {
    await store.close();
  }
  return 0;
}
