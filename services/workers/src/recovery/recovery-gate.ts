import { TetherError, type Command } from '@tether/contracts';
import { LEAVE_SAFE_MODE } from '@tether/projector';
import type { CommandGate } from '@tether/runtime';

/** Commands from outside that create or change terminals: held while a recovery run restores them. */
const HELD = new Set([
  'lane.create', // its new worktree must not look like an orphan to the run's scan
  'terminal.spawn',
  'terminal.close',
  'lane.cleanup',
  'share.create',
  'handoff.request',
  'session.ensure',
  'taskRun.run', // a new run is a new terminal (and agent) in a lane
  'liveSession.enable',
]);

/** What safe mode refuses outright: new terminals, and new task runs (each starts one, and an agent). */
const SAFE_MODE_REFUSED = new Set(['terminal.spawn', 'taskRun.run']);

/**
 * While a recovery run is not live, commands that would create or change terminals wait (in arrival
 * order) and run once it is: nothing is acknowledged before it is applied, so a kill -9 meanwhile loses
 * no acknowledged command. One that waits longer than `holdMs` is refused with RECOVERING and a retry
 * hint. In safe mode, new terminals are refused outright.
 */
export class RecoveryGate {
  private run?: { id: string; live: Promise<void>; done: () => void };
  private queue: Promise<unknown> = Promise.resolve();
  /** Safe mode, held by a recovery run until an operator leaves it. */
  safeMode: { reason: string; runId: string } | null = null;
  /** Whether safe mode still holds (its run may have been left a moment ago). */
  stillSafe: () => Promise<boolean> = async () => this.safeMode !== null;

  constructor(private readonly holdMs: number) {}

  /** From now until `live()`, held commands wait for run `id`. */
  hold(id: string): void {
    let done!: () => void;
    const live = new Promise<void>((resolve) => (done = resolve));
    this.run = { id, live, done };
  }

  /** The run is live (or failed): held commands go, in order. */
  live(): void {
    this.run?.done();
    this.run = undefined;
  }

  get holding(): boolean {
    return this.run !== undefined;
  }

  readonly gate: CommandGate = async (cmd, next) => {
    const key = `${cmd.entity}.${cmd.verb}`;
    const safe = this.safeMode;
    if (safe && SAFE_MODE_REFUSED.has(key) && (await this.stillSafe()))
      throw new TetherError(
        'UNAVAILABLE',
        `tether runs in safe mode (${safe.reason}): it starts no new terminals or task runs; leave it with \`${LEAVE_SAFE_MODE}\` (audited)`,
        { reason: 'SAFE_MODE' },
      );
    const run = this.run;
    if (!run || !HELD.has(key)) return next();
    const deadline = Date.now() + this.holdMs;
    const turn = this.queue.then(() => this.waitLive(run, cmd, deadline)).then(next);
    this.queue = turn.catch(() => {});
    return turn;
  };

  private async waitLive(run: { id: string; live: Promise<void> }, cmd: Command, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
    });
    try {
      if ((await Promise.race([run.live, late])) === 'late')
        throw new TetherError(
          'RECOVERING',
          `recovery ${run.id} is still restoring terminals; ${cmd.entity}.${cmd.verb} waited ${this.holdMs} ms and was not applied: retry it in a few seconds (\`tether recovery status\` shows progress)`,
          { reason: 'RECOVERING' },
        );
    } finally {
      clearTimeout(timer);
    }
  }
}
