import { InstanceExit, type CrashRecord } from '@tether/contracts';
import { listActorsOf, readActor, type ActorOf } from '@tether/projector';
import type { ActorHost, EventStore, Logger, ProcessManager } from '@tether/runtime';

/** Three crashes within a minute: the next start runs in safe mode (seed 003, SC-027-004). */
export const CRASH_LOOP = { crashes: 3, windowMs: 60_000 } as const;

export interface CrashDetection {
  /** Crashes no recovery run has taken over yet, oldest first. */
  crashes: CrashRecord[];
  /** Set when this start is the one after a crash loop. */
  crashLoop: { reason: string; crashes: number } | null;
}

/** How the supervisor saw the previous server end (TETHER_PREVIOUS_EXIT), if it says; a malformed value is ignored with a warning. */
export function previousExit(raw: string | undefined, log: Logger): InstanceExit | null {
  if (!raw) return null;
  try {
    return InstanceExit.parse(JSON.parse(raw));
  } catch (err) {
    log.warn({ err: String(err) }, 'TETHER_PREVIOUS_EXIT is not an exit record; the crash is recorded without it');
    return null;
  }
}

const toRecord = (a: ActorOf<'instance'>): CrashRecord => ({
  instanceId: a.entityId,
  pid: a.context.pid,
  startedAt: a.context.startedAt,
  lastHeartbeatAt: a.context.lastHeartbeatAt ?? null,
  crashedAt: a.context.crashedAt ?? a.context.startedAt,
  exit: a.context.exit ?? null,
});

/**
 * At start, before anything else runs: every earlier instance of this installation that is still
 * `running` did not stop cleanly, so it crashed (with the supervisor's exit record when its pid
 * matches). Returns the crashes no run has taken over, and whether they make a crash loop: three
 * within a minute, counting only crashes after an operator last left safe mode.
 */
export async function detectCrashes(o: {
  host: ActorHost;
  store: EventStore;
  pm: ProcessManager;
  installationId: string;
  instanceId: string;
  exit: InstanceExit | null;
  safeModeLeftAt: string | undefined;
  now: Date;
}): Promise<CrashDetection> {
  const mine = await listActorsOf(o.store, 'instance', (a) => a.context.installationId === o.installationId);
  const crashed: ActorOf<'instance'>[] = [];
  // Only the open ones (the read model can lag, but never shows an instance further on than it is):
  // every instance this installation ever ran is in the list, and each read here is a replay.
  for (const a of mine) {
    if (a.entityId === o.instanceId || (a.value !== 'running' && a.value !== 'crashed')) continue;
    let fresh = await readActor(o.host, 'instance', a.entityId); // the read model may lag the last heartbeat
    if (fresh?.value === 'running') {
      const exit = o.exit && o.exit.pid === fresh.context.pid ? o.exit : null;
      // Refused only when another path (its heartbeat deadline) marked it first: the same crash.
      await o.pm.report(cause(o.instanceId), 'instance', 'crashed', a.entityId, { detectedBy: o.instanceId, exit });
      fresh = await readActor(o.host, 'instance', a.entityId);
    }
    if (fresh?.value === 'crashed') crashed.push(fresh);
  }
  const crashes = crashed.map(toRecord).sort((x, y) => x.crashedAt.localeCompare(y.crashedAt));
  // Every crash of the installation counts towards a loop, taken over by a run or not.
  const since = Math.max(o.now.getTime() - CRASH_LOOP.windowMs, o.safeModeLeftAt ? Date.parse(o.safeModeLeftAt) : 0);
  const recent = mine
    .map((a) => a.context.crashedAt)
    .concat(crashes.map((c) => c.crashedAt))
    .filter((at, i, all): at is string => at !== undefined && all.indexOf(at) === i && Date.parse(at) > since);
  const crashLoop =
    recent.length >= CRASH_LOOP.crashes
      ? {
          reason: `${recent.length} crashes within ${CRASH_LOOP.windowMs / 1000} s (the last at ${recent.sort().at(-1)})`,
          crashes: recent.length,
        }
      : null;
  return { crashes, crashLoop };
}

/** What the recovery's reports are caused by: this start (its instance id), so a retry is the same command. */
export const cause = (instanceId: string, step = 'start') => ({
  id: `${instanceId}:${step}`,
  correlationId: instanceId,
});
