import { existsSync } from 'node:fs';
import { subjects, type StoredEvent } from '@tether/contracts';
import type { LaneContext } from '@tether/machines';
import { listActorsOf } from '@tether/projector';
import {
  ProcessManager,
  outcomeOf,
  type EventStore,
  type Logger,
  type SavedActor,
  type Send,
  type Subscription,
} from '@tether/runtime';
import { git } from './git-worktree.ts';
import { laneCleanup } from './lane-cleanup.reactor.ts';
import { laneBranch, type Workspaces } from './workspaces.ts';

const LIVE = new Set(['ready', 'running', 'blocked', 'shared']);

/**
 * Lanes' effects: creates the git worktree on lane.create, ends terminals and sessions and
 * removes the worktree on lane.cleanup, and marks lanes whose worktree vanished.
 */
export class LaneWorker {
  private readonly pm: ProcessManager;
  private sub?: Subscription;
  private watch?: NodeJS.Timeout;

  constructor(
    private readonly store: EventStore,
    send: Send,
    private readonly workspaces: Workspaces,
    log: Logger,
    private readonly opts: { watchEveryMs?: number } = {},
  ) {
    // One name for the worker and its cascade: the commands' ids derive from it, as before the cascade was pure.
    this.pm = new ProcessManager(laneCleanup.name, send, log);
  }

  async start(): Promise<void> {
    this.sub = await this.pm.subscribe(this.store, subjects.entityEvents('lane'), (e) => this.handle(e));
    this.watch = setInterval(
      () =>
        void this.checkWorktrees().catch(
          (err) => !this.stopped && this.pm.log.warn({ err: String(err) }, 'worktree check failed'),
        ),
      this.opts.watchEveryMs ?? 5_000,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watch);
    await this.sub?.stop();
  }

  private stopped = false;

  private async handle(e: StoredEvent): Promise<void> {
    const laneId = e.event.entityId;
    if (e.event.type === 'lane.create') await this.provision(e, laneId);
    else if (e.event.type === 'lane.cleanup') await this.cleanup(e, laneId);
  }

  /**
   * The worktree, then the report of how that went: only a worktree that could not be made is
   * provisionFailed. A report that cannot be sent throws, the event comes again, and the worktree
   * (idempotent) is found and reported provisioned.
   */
  private async provision(e: StoredEvent, laneId: string): Promise<void> {
    const { workspaceId } = e.event.data as Pick<LaneContext, 'workspaceId'>;
    const branch = laneBranch(laneId);
    const made = await outcomeOf(async () => {
      const ws = this.workspaces.get(workspaceId);
      const path = this.workspaces.worktreePath(ws.id, laneId);
      await git.addWorktree(ws.repo, path, branch);
      return path;
    });
    if (made.ok) await this.pm.report(e.event, 'lane', 'provisioned', laneId, { worktreePath: made.value, branch });
    else await this.pm.report(e.event, 'lane', 'provisionFailed', laneId, { reason: made.reason });
  }

  /** The cascade (pure, see laneCleanup) first, then the worktree goes and the lane reports how it went. */
  private async cleanup(e: StoredEvent, laneId: string): Promise<void> {
    const member = (a: SavedActor) => ({ id: a.entityId, state: String(a.value) });
    const [lane] = await listActorsOf(this.store, 'lane', (a) => a.entityId === laneId);
    const members = {
      terminals: (await listActorsOf(this.store, 'terminal', (a) => a.context.laneId === laneId)).map(member),
      sessions: (await listActorsOf(this.store, 'session', (a) => a.context.laneId === laneId)).map(member),
    };
    for (const intent of laneCleanup.react(e.event, members))
      await this.pm.report(e.event, intent.entity, intent.verb, intent.entityId, intent.data);
    const ctx = lane?.context;
    const removed = await outcomeOf(async () => {
      const workspaceId = ctx?.workspaceId ?? (e.event.data as { workspaceId?: string }).workspaceId;
      if (ctx?.worktreePath && workspaceId)
        await git.removeWorktree(this.workspaces.get(workspaceId).repo, ctx.worktreePath);
    });
    if (removed.ok) await this.pm.report(e.event, 'lane', 'cleaned', laneId);
    else await this.pm.report(e.event, 'lane', 'cleanupFailed', laneId, { reason: removed.reason });
  }

  /** A live lane whose worktree is gone is marked, not silently dropped; answers how many are there and which are not. */
  async checkWorktrees(): Promise<{ present: number; missing: string[] }> {
    const out = { present: 0, missing: [] as string[] };
    if (this.stopped) return out;
    for (const lane of await listActorsOf(this.store, 'lane', (a) => LIVE.has(String(a.value)))) {
      const path = lane.context.worktreePath;
      if (!path) continue;
      if (existsSync(path)) {
        out.present++;
        continue;
      }
      out.missing.push(lane.entityId);
      const cause = {
        id: `missing-${lane.entityId}-${lane.version}`,
        correlationId: `worktree-check-${lane.entityId}`,
      };
      this.pm.log.warn(
        { laneId: lane.entityId, worktreePath: path, correlationId: cause.correlationId },
        'lane worktree vanished',
      );
      await this.pm.report(cause, 'lane', 'worktreeMissing', lane.entityId, { worktreePath: path });
    }
    return out;
  }
}
