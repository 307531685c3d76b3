import type { z } from 'zod';
import { CommandRequest, parseData, TetherError, type Command, type Principal } from '@tether/contracts';
import type { ActorHost } from '../actor/host.ts';
import type { SavedActor } from '../actor/fold.ts';
import type { HttpRequest } from '../capability.ts';
import { uuid } from '../clock.ts';

/** A command from an HTTP request: from its authenticated principal, with the id and correlation id its headers give. */
export function commandFrom(
  req: Pick<HttpRequest, 'headers' | 'principal'>,
  entity: string,
  verb: string,
  entityId: string | undefined,
  data: Record<string, unknown>,
): Command {
  const header = (name: string) => {
    const v = req.headers[name];
    return (Array.isArray(v) ? v[0] : v) || undefined;
  };
  const [key, corr] = [header('idempotency-key'), header('x-correlation-id')];
  const h = CommandRequest.safeParse({ ...(key ? { id: key } : {}), ...(corr ? { correlationId: corr } : {}) });
  if (!h.success) {
    const names: Record<string, string> = { id: 'Idempotency-Key', correlationId: 'X-Correlation-Id' };
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
  const principal = principalOf(req);
  const id = h.data.id ?? uuid();
  return {
    id,
    entity,
    verb,
    entityId,
    data,
    actor: principal.actor,
    principal,
    correlationId: h.data.correlationId ?? id,
    causationId: id,
  };
}

/** Who an authenticated route's request comes from (the gateway sets it before any handler runs). */
export function principalOf(req: Pick<HttpRequest, 'principal'>): Principal {
  if (!req.principal) throw new TetherError('UNAUTHENTICATED', 'this request carries no credential');
  return req.principal;
}

export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return parseData(schema, 'request body', body);
}

/** A query's parameters without the empty ones: `?after=` (an empty form field) means "not given". */
export function givenParams(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) if (v !== '') out[k] = v;
  return out;
}

/** Waits until `done` holds for the actor (workers report back asynchronously), at most `ms`: the actor then, if any. */
export async function settledWhen(
  host: ActorHost,
  entity: string,
  id: string,
  done: (a: SavedActor) => boolean,
  ms: number,
): Promise<SavedActor | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const a = await host.state(entity, id);
    if ((a && done(a)) || Date.now() > end) return a;
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Waits until the actor leaves the given states, at most `ms`; one that never came to be is NOT_FOUND. */
export async function settled(
  host: ActorHost,
  entity: string,
  id: string,
  pending: string[],
  ms: number,
): Promise<SavedActor> {
  const a = await settledWhen(host, entity, id, (x) => !pending.includes(String(x.value)), ms);
  if (!a) throw new TetherError('NOT_FOUND', `${entity} ${id} does not exist`);
  return a;
}
