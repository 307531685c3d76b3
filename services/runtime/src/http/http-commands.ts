import type { z } from 'zod';
import { CommandRequest, invalid, TetherError, type Command } from '@tether/contracts';
import type { ActorHost } from '../actor/host.ts';
import type { SavedActor } from '../actor/fold.ts';
import type { HttpRequest } from '../capability.ts';
import { uuid } from '../clock.ts';

/** A command from an HTTP request: headers give its id, correlation id and actor, under the command contract. */
export function commandFrom(
  req: Pick<HttpRequest, 'headers'>,
  entity: string,
  verb: string,
  entityId: string | undefined,
  data: Record<string, unknown>,
): Command {
  const header = (name: string) => {
    const v = req.headers[name];
    return (Array.isArray(v) ? v[0] : v) || undefined;
  };
  const [key, corr, who] = [header('idempotency-key'), header('x-correlation-id'), header('x-tether-actor')];
  const h = CommandRequest.safeParse({
    ...(key ? { id: key } : {}),
    ...(corr ? { correlationId: corr } : {}),
    actor: actorOf(who),
  });
  if (!h.success) {
    const names: Record<string, string> = {
      id: 'Idempotency-Key',
      correlationId: 'X-Correlation-Id',
      actor: 'X-Tether-Actor',
    };
    const issues = h.error.issues.map((i) => ({
      path: [names[String(i.path[0])] ?? String(i.path[0])],
      message: i.message,
    }));
    throw new TetherError(
      'INVALID_COMMAND',
      `invalid request headers: ${issues.map((i) => `${i.path[0]}: ${i.message}`).join('; ')}`,
      { issues },
    );
  }
  const id = h.data.id ?? uuid();
  return {
    id,
    entity,
    verb,
    entityId,
    data,
    actor: h.data.actor!,
    correlationId: h.data.correlationId ?? id,
    causationId: id,
  };
}

export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw invalid(`invalid request body`, r.error);
  return r.data;
}

/** Waits until the actor leaves the given states (workers report back asynchronously), at most `ms`. */
export async function settled(
  host: ActorHost,
  entity: string,
  id: string,
  pending: string[],
  ms: number,
): Promise<SavedActor> {
  const end = Date.now() + ms;
  for (;;) {
    const a = await host.state(entity, id);
    if (a && (!pending.includes(String(a.value)) || Date.now() > end)) return a;
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** X-Tether-Actor is "id" (a person) or "kind:id", e.g. "ai:codex-1". */
function actorOf(header: string | undefined) {
  // "system" is tether's own workers and timers: no caller may claim it.
  const m = /^(human|ai|service):(.+)$/.exec(header ?? '');
  return m ? { kind: m[1], id: m[2] } : { kind: 'human', id: header ?? 'http' };
}
