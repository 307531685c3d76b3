import type { StoredEvent } from '@tether/contracts';
import { isLiveShare, type ShareContext } from '@tether/machines';
import { listActorsOf, readActor, type ActorOf } from '@tether/projector';
import {
  ProcessManager,
  outcomeOf,
  type ActorHost,
  type CorrelationOrigins,
  type EventStore,
  type Logger,
  type Send,
  type Subscription,
} from '@tether/runtime';
import { endedText, type NativeRelays } from './native-relay.ts';
import type { ProcessShares } from './process-shares.ts';
import type { SecretBox } from './secrets.ts';

/**
 * The share's effects after persistence: a starting share gets its backend (the native relay, or a
 * tmate/upterm worker) and reports started or failed; changes reach connected participants; an
 * ended share disconnects everyone and stops its worker. Always acts on the share's current state,
 * so a redelivered old event does nothing stale.
 */
export class ShareRunner {
  private readonly pm: ProcessManager;
  private sub?: Subscription;
  private readonly starting = new Set<string>();

  constructor(
    private readonly store: EventStore,
    private readonly host: ActorHost,
    send: Send,
    private readonly relays: NativeRelays,
    private readonly processes: ProcessShares,
    private readonly secrets: SecretBox,
    private readonly origins: CorrelationOrigins,
    log: Logger,
  ) {
    this.pm = new ProcessManager('share_runner', send, log);
  }

  async start() {
    await this.recover();
    this.sub = await this.store.subscribe('pm_share_runner', { filter: 'tether.evt.share.*', ackWaitMs: 60_000 }, (e) =>
      this.handle(e),
    );
  }

  async stop() {
    await this.sub?.stop();
    this.relays.closeAll('tether is shutting down; reconnect with the same link when it is back');
    await this.processes.stopAll();
  }

  /** A share worker crashed or hung: the share fails (the terminal is untouched). */
  failed = (shareId: string, reason: string) => {
    void this.origins
      .of('share', shareId, `share-${shareId}`)
      .then((correlationId) =>
        this.pm.report({ id: `worker-failed-${shareId}`, correlationId }, 'share', 'failed', shareId, { reason }),
      )
      .catch((err) => this.pm.log.error({ shareId, err: String(err) }, 'share failure not recorded'));
  };

  private async handle(e: StoredEvent) {
    const id = e.event.entityId;
    const now = await readActor(this.host, 'share', id);
    if (!now) return;
    const ctx = now.context;
    const state = String(now.value);
    if (state === 'ended') return this.end(id, ctx);
    if (state === 'starting') return this.begin(e, now);
    if (ctx.backend !== 'native') return;
    this.relays.update(now);
    if (e.event.type === 'share.warn' && ctx.expiresAt)
      this.relays.notify(id, {
        type: 'warning',
        expires_at: ctx.expiresAt,
        ms_left: Math.max(0, Date.parse(ctx.expiresAt) - Date.now()),
      });
    if (e.event.type === 'share.extend' && ctx.expiresAt)
      this.relays.notify(id, { type: 'extended', expires_at: ctx.expiresAt });
  }

  private async begin(e: StoredEvent, share: ActorOf<'share'>) {
    const id = share.entityId;
    const ctx = share.context;
    // Neither a relay fetching scrollback nor a tmate/upterm worker becoming ready may hold up the
    // events of other shares (a revoke must cut its viewers off at once).
    if (ctx.backend === 'native') {
      void this.relays
        .open(share)
        .then(
          () => this.pm.report(e.event, 'share', 'started', id, {}),
          (err) =>
            this.pm.report(e.event, 'share', 'failed', id, {
              reason: `native relay could not start: ${(err as Error).message}`,
            }),
        )
        .catch((err) => this.pm.log.error({ shareId: id, err: String(err) }, 'share start not recorded'));
      return;
    }
    if (this.starting.has(id) || this.processes.has(id)) return;
    this.starting.add(id);
    // Only a worker that could not start is `failed`: a `started` report that cannot be sent is logged, not turned into one.
    // A live session's tmate may use its own relay (TETHER_LIVE_RELAY_HOST): its adapter is "live:tmate".
    const backend =
      ctx.liveSessionId && this.processes.adapter(`live:${ctx.backend}`) ? `live:${ctx.backend}` : ctx.backend;
    void outcomeOf(() => this.processes.start(id, backend, ctx.terminalId, ctx.access))
      .then(async (started) => {
        if (!started.ok) return this.pm.report(e.event, 'share', 'failed', id, { reason: started.reason });
        // Revoked while the worker started: the end handler found nothing to stop, so stop it here.
        if ((await this.host.state('share', id))?.value === 'ended') return this.processes.stop(id);
        return this.pm.report(e.event, 'share', 'started', id, {
          workerPid: started.value.pid,
          sealedLinks: this.secrets.seal(started.value.links),
        });
      })
      .catch((err) => this.pm.log.error({ shareId: id, err: String(err) }, 'share start not recorded'))
      .finally(() => this.starting.delete(id));
  }

  private async end(id: string, ctx: ShareContext) {
    this.relays.close(id, endedText(id, ctx));
    if (ctx.backend !== 'native') await this.processes.stop(id);
  }

  /**
   * After a restart: native shares relay again (participants reconnect with their links; the
   * connections the old process held are recorded as left); tmate/upterm sessions of the old process
   * cannot be adopted, so they are stopped and their shares failed with that reason.
   */
  private async recover() {
    const boot = Date.now();
    const live = (s: { value: unknown }) => isLiveShare(s.value) && s.value !== 'awaitingApproval';
    // Listed by the read model as not ended (it may still show one approved just before a crash as awaiting).
    for (const listed of await listActorsOf(this.store, 'share', (s) => isLiveShare(s.value))) {
      // The read model may lag the log (a viewer's last `joined`): act on the share as its events say.
      const a = await readActor(this.host, 'share', listed.entityId);
      if (!a || !live(a)) continue;
      const ctx = a.context;
      const correlationId = await this.origins.of('share', a.entityId, `share-${a.entityId}`);
      const cause = (what: string) => ({ id: `recover-${boot}-${a.entityId}-${what}`, correlationId });
      if (ctx.backend === 'native') {
        for (const [pid, p] of Object.entries(ctx.participants)) {
          for (let i = 0; i < p.connections; i++)
            await this.pm.report(cause(`${pid}-${i}`), 'share', 'left', a.entityId, {
              participantId: pid,
              reason: 'tether restarted',
            });
        }
        const relayed = await outcomeOf(() => this.relays.open(a));
        if (!relayed.ok)
          await this.pm.report(cause('relay'), 'share', 'failed', a.entityId, {
            reason: `native relay could not resume after a restart: ${relayed.reason}`,
          });
        else if (a.value === 'starting') await this.pm.report(cause('started'), 'share', 'started', a.entityId, {});
        continue;
      }
      await this.processes.stop(a.entityId);
      await this.pm.report(cause('worker'), 'share', 'failed', a.entityId, {
        reason: `tether restarted and the ${ctx.backend} session of its previous run was stopped; create a new share`,
      });
    }
  }
}
