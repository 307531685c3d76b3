import { createHash } from 'node:crypto';
import {
  TetherError,
  type Command,
  type CommandAccepted,
  type EventEnvelope,
  type StoredEvent,
} from '@tether/contracts';
import type { Intent, Reactor } from '@tether/machines';
import type { Logger } from '../logger.ts';
import type { EventStore, Subscription } from '../store/port.ts';
import { retryTransient } from './effect-outcome.ts';

export type Send = (cmd: Command) => Promise<CommandAccepted>;

/** What a report needs of its cause: a stable id and the correlation id to carry on. */
export type Cause = Pick<EventEnvelope, 'id' | 'correlationId'>;

/** Rejections that mean the world moved on: the report no longer applies, and retrying cannot help. */
const MOVED_ON = new Set(['NOT_ALLOWED', 'NOT_FOUND', 'ALREADY_EXISTS']);

/**
 * Sends the command `intent` calls for on behalf of worker `name`, caused by `cause` (a persisted event,
 * or a worker's own observation with a stable id): the command id derives from both, so repeating the
 * cause repeats nothing. A rejection that means the world moved on is logged and swallowed;
 * unavailability is tried again for a moment (same id), then throws so the event is redelivered.
 */
export async function report(
  name: string,
  send: Send,
  log: Logger,
  cause: Cause,
  intent: Intent,
): Promise<CommandAccepted | undefined> {
  const r = await attempt(name, send, cause, intent);
  if (r.ok) return r.reply;
  const { entity, verb, entityId } = intent;
  const why = { correlationId: cause.correlationId, entity, verb, entityId, code: r.error.code, msg: r.error.message };
  log.debug(why, 'report no longer applies');
  return undefined;
}

/**
 * As `report`, for a worker that acts on the answer: the accepted reply, or the refusal that means the
 * world moved on (a terminal another handoff holds), whose reason it can pass on.
 */
export async function attempt(
  name: string,
  send: Send,
  cause: Cause,
  intent: Intent,
): Promise<{ ok: true; reply: CommandAccepted } | { ok: false; error: TetherError }> {
  const { entity, verb, entityId, data = {} } = intent;
  const id = createHash('sha256')
    .update(`${name}:${cause.id}:${entity}.${verb}.${entityId}`)
    .digest('hex')
    .slice(0, 40);
  try {
    const reply = await retryTransient(() =>
      send({
        id,
        entity,
        verb,
        entityId,
        data,
        actor: { kind: 'system', id: `worker:${name}` },
        correlationId: intent.correlationId ?? cause.correlationId,
        causationId: cause.id,
      }),
    );
    return { ok: true, reply };
  } catch (err) {
    if (err instanceof TetherError && MOVED_ON.has(err.code)) return { ok: false, error: err };
    throw err;
  }
}

export interface ReactorRunnerOptions<View> {
  send: Send;
  log: Logger;
  /** Loads what the reactor needs beyond the event (I/O lives here, not in `react`). */
  load: (event: EventEnvelope) => Promise<View>;
  ackWaitMs?: number;
}

/** Runs a pure reactor: a durable subscription `pm_<name>` that loads its view, reacts, and sends the intents. */
export function runReactor<View>(
  store: EventStore,
  reactor: Reactor<View>,
  opts: ReactorRunnerOptions<View>,
): Promise<Subscription> {
  const handle = async ({ event }: StoredEvent) => {
    const intents = reactor.react(event, await opts.load(event));
    for (const intent of intents) await report(reactor.name, opts.send, opts.log, event, intent);
  };
  return store.subscribe(`pm_${reactor.name}`, { filter: reactor.filter, ackWaitMs: opts.ackWaitMs ?? 60_000 }, handle);
}
