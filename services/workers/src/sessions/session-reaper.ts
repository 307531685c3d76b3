import { readActor } from '@tether/projector';
import {
  runReactor,
  type ActorHost,
  type EventStore,
  type Logger,
  type Send,
  type Subscription,
} from '@tether/runtime';
import { sessionReaper, type ReapedSession } from './session-reaper.reactor.ts';

/** Runs the session reaper: reads the terminated session, then frees its lane and codex session id. */
export class SessionReaper {
  private sub?: Subscription;

  constructor(
    private readonly store: EventStore,
    private readonly host: ActorHost,
    private readonly send: Send,
    private readonly log: Logger,
  ) {}

  async start() {
    this.sub = await runReactor(this.store, sessionReaper, {
      send: this.send,
      log: this.log,
      ackWaitMs: 120_000,
      // Only a terminate needs the session: heartbeats, the bulk of these events, read nothing.
      load: async (e): Promise<ReapedSession> => {
        if (e.type !== 'session.terminate') return undefined;
        const s = await readActor(this.host, 'session', e.entityId);
        return s && { id: s.entityId, laneId: s.context.laneId, codexSessionId: s.context.codexSessionId };
      },
    });
  }

  async stop() {
    await this.sub?.stop();
  }
}
