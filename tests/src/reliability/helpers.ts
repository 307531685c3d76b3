import { CommandReply, type CommandRequest } from '@tether/contracts';
import type { EventStore } from '@tether/runtime';
import { bearer, type Tether } from '../harness/index.ts';

/** POSTs a command; network failures and 503s come back as UNAVAILABLE replies, like the NATS client. */
export async function postCommand(
  base: Tether,
  entity: string,
  verb: string,
  body: CommandRequest,
  timeoutMs = 15_000,
): Promise<CommandReply> {
  try {
    const res = await fetch(`${base.url}/v1/commands/${entity}/${verb}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(base) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return CommandReply.parse(await res.json());
  } catch (err) {
    return { ok: false, error: { code: 'UNAVAILABLE', message: String(err) } };
  }
}

/** Every causation (command) id in the stream with how often it appears. */
export async function commandCounts(store: EventStore, filter = 'tether.evt.>'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const e of store.readAll({ filter }))
    counts.set(e.event.causationId, (counts.get(e.event.causationId) ?? 0) + 1);
  return counts;
}

/** A well-behaved client: resends with the same command id until it gets an answer that is not UNAVAILABLE or CONFLICT. */
export async function postUntilAnswered(
  base: () => Tether,
  entity: string,
  verb: string,
  body: CommandRequest,
  deadlineMs = 60_000,
): Promise<CommandReply> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await postCommand(base(), entity, verb, body);
    if (r.ok || (r.error.code !== 'UNAVAILABLE' && r.error.code !== 'CONFLICT') || Date.now() > until) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}
