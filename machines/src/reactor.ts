import type { EventEnvelope } from '@tether/contracts';

/** A command a reactor calls for; the runner derives its id from the cause, so a redelivery repeats nothing. */
export interface Intent {
  entity: string;
  verb: string;
  entityId: string;
  data?: Record<string, unknown>;
  /** The correlation id to carry on, when it is not the event's (a decision on an approval continues its handoff's). */
  correlationId?: string;
}

/**
 * A process manager's decision, kept pure: which commands a persisted event calls for. What it needs
 * beyond the event (another actor's context, a setting) arrives in `view`, which the runner loads
 * first with `load`; the runner then sends the intents. All I/O stays in the runner.
 */
export interface Reactor<View = undefined> {
  /** Durable subscription name (`pm_<name>`) and the worker id in the commands it sends. */
  name: string;
  /** Subject filter of the events it reacts to, e.g. tether.evt.share.* */
  filter: string;
  react(event: EventEnvelope, view: View): Intent[];
}

export function defineReactor<View = undefined>(r: Reactor<View>): Reactor<View> {
  return r;
}
