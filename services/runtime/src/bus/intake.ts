import {
  CommandRequest,
  EntityName,
  invalid,
  TetherError,
  Verb,
  type Command,
  type CommandReply,
  type Principal,
} from '@tether/contracts';
import type { IdGenerator } from '../clock.ts';

/**
 * Turns an untrusted request (NATS payload or HTTP body) into a Command from `principal`, or a typed
 * INVALID_COMMAND. The actor is the principal's: an `actor` in the body is ignored.
 */
export function toCommand(
  entity: string,
  verb: string,
  body: unknown,
  ids: IdGenerator,
  principal: Principal,
): Command {
  const name = EntityName.safeParse(entity);
  const v = Verb.safeParse(verb);
  if (!name.success || !v.success)
    throw new TetherError('UNKNOWN_COMMAND', `"${entity}.${verb}" is not a command name; use <entity>.<verb>`);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new TetherError(
      'INVALID_COMMAND',
      'the command body must be a JSON object like {"entityId": "...", "data": {...}}',
      {
        issues: [
          {
            path: [],
            message: `expected an object, got ${body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body}`,
          },
        ],
      },
    );
  }
  const parsed = CommandRequest.safeParse(body);
  if (!parsed.success) {
    throw invalid(`invalid command envelope`, parsed.error);
  }
  const r = parsed.data;
  const id = r.id ?? ids();
  return {
    id,
    entity,
    verb,
    entityId: r.entityId,
    data: r.data,
    actor: principal.actor,
    principal,
    correlationId: r.correlationId ?? id,
    causationId: r.causationId ?? id,
  };
}

/** Any failure as a reply body; unexpected errors become INTERNAL without leaking a stack. */
export function toRejection(err: unknown): Extract<CommandReply, { ok: false }> {
  if (err instanceof TetherError) return { ok: false, error: err.toBody() };
  return {
    ok: false,
    error: { code: 'INTERNAL', message: `internal error: ${(err as Error)?.message ?? String(err)}` },
  };
}

/** Parses JSON bytes, or throws INVALID_COMMAND saying where it broke. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TetherError('INVALID_COMMAND', `the command body is not valid JSON: ${(err as Error).message}`, {
      issues: [{ path: [], message: 'malformed JSON' }],
    });
  }
}
