import type { StoredEvent } from '@tether/contracts';
import type { SessionContext } from '@tether/machines';
import type { ActorHost, EventStore, Logger, Subscription } from '@tether/runtime';
import { ProcessManager, type Send } from '@tether/runtime';

/** When a session terminates, its lane and its codex session id become free again. */
export class SessionReaper {
  private readonly pm: ProcessManager;
  private sub?: Subscription;

  constructor(
    private readonly store: EventStore,
    private readonly host: ActorHost,
    send: Send,
    log: Logger,
  ) {
    this.pm = new ProcessManager('sessions', send, log);
  }

  async start() {
    this.sub = await this.pm.subscribe(this.store, 'tether.evt.session.*', (e) => this.handle(e));
  }

  async stop() {
    await this.sub?.stop();
  }

  private async handle(e: StoredEvent) {
    if (e.event.type !== 'session.terminate') return;
    const s = await this.host.state('session', e.event.entityId);
    if (!s) return;
    const c = s.context as SessionContext;
    await this.pm.report(e.event, 'lane', 'unbindSession', c.laneId, { sessionId: s.entityId });
    await this.pm.report(e.event, 'codexSession', 'release', c.codexSessionId, { sessionId: s.entityId });
  }
}
