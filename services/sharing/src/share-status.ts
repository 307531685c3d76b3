import type { StoredEvent } from '@tether/contracts';
import { isLiveShare } from '@tether/machines';
import { listActorsOf, readActor } from '@tether/projector';
import type { ActorHost, EventStore, Logger, Reactive, Subscription, TerminalAccess } from '@tether/runtime';
import { shareStatusText, type SharedState } from './share-status-text.ts';

/**
 * The shared terminal says so in its own tmux status line, like tmate's bar: after every event of a
 * share (started, joined, left, write granted or taken back, kick, extended, warned, ended) the status
 * of that share's terminal is computed again from its shares as their events say now
 * (shareStatusText) and shown in the terminal's tmux session, or what the session showed before is put
 * back once no share of it is live. tmux counts the time left down itself, so nothing here runs
 * between events. Effects only: it sends no command, and a status that cannot be shown is logged.
 */
export class ShareStatusLine implements Reactive {
  private sub?: Subscription;
  /** What this process last showed per terminal (an unchanged status costs no tmux call). */
  private readonly shown = new Map<string, string>();

  constructor(
    private readonly store: EventStore,
    private readonly host: ActorHost,
    private readonly terminals: Pick<TerminalAccess, 'showStatus'>,
    private readonly log: Logger,
  ) {}

  async start() {
    // After a restart (tmux's server, and its sessions' options, may have gone with it): every shared terminal again.
    const live = await listActorsOf(this.store, 'share', (a) => isLiveShare(a.value));
    for (const terminalId of new Set(live.map((a) => a.context.terminalId))) await this.refresh(terminalId);
    this.sub = await this.store.subscribe('pm_share_status', { filter: 'tether.evt.share.*', ackWaitMs: 60_000 }, (e) =>
      this.handle(e),
    );
  }

  async stop() {
    await this.sub?.stop();
  }

  private async handle(e: StoredEvent) {
    const share = await readActor(this.host, 'share', e.event.entityId);
    if (share) await this.refresh(share.context.terminalId, share.entityId);
  }

  /** The terminal's shares: those in its slots, and `also` (one that just ended has left its slot, or is about to). */
  private async refresh(terminalId: string, also?: string) {
    const slots = (await readActor(this.host, 'terminal', terminalId))?.context.shares ?? [];
    const shares: SharedState[] = [];
    for (const id of new Set([...slots, ...(also ? [also] : [])])) {
      const s = await readActor(this.host, 'share', id);
      if (s) shares.push(s);
    }
    const format = shareStatusText(shares, { now: Date.now() });
    if (format !== undefined && this.shown.get(terminalId) === format) return;
    try {
      await this.terminals.showStatus(terminalId, format);
      if (format === undefined) this.shown.delete(terminalId);
      else this.shown.set(terminalId, format);
    } catch (err) {
      this.log.warn({ terminalId, err: String(err) }, 'share status not shown in the terminal status line');
    }
  }
}
