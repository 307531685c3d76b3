import { setTimeout as sleep } from 'node:timers/promises';
import { processesMarked } from './proc-scan.ts';

/** Sends `sig` to a pid, or to a process group as `-pgid`; one already gone is no news. */
export function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    /* already gone */
  }
}

export interface Termination {
  /** The processes to end, looked up again at every step: only a marker is trusted, pids are reused quickly. */
  marked: () => number[];
  /** Process groups (as `-pgid`) that are safe to signal right now, e.g. while their leader is unreaped. */
  groups?: () => number[] | Promise<number[]>;
  /** An extra condition for being done (e.g. the leader is reaped), on top of nothing marked being left. */
  done?: () => boolean;
  /** The first signals, in order; SIGTERM by default (a closing terminal adds SIGHUP: shells ignore SIGTERM). */
  signals?: NodeJS.Signals[];
  /** How long they have to go before SIGKILL. */
  graceMs?: number;
}

/**
 * The one SIGTERM → wait → SIGKILL loop: the first signals to every group and marked process, up to
 * `graceMs` for them to go, then SIGKILL (which also ends a stopped process) to what is left, and a
 * short wait for it to be gone.
 */
export async function terminate(t: Termination): Promise<void> {
  const gone = () => t.marked().length === 0 && (t.done?.() ?? true);
  const targets = async () => [...((await t.groups?.()) ?? []), ...t.marked()];
  const first = await targets();
  if (first.length === 0 && gone()) return;
  for (const sig of t.signals ?? ['SIGTERM']) for (const pid of first) signal(pid, sig);
  const until = Date.now() + (t.graceMs ?? 3_000);
  while (!gone() && Date.now() < until) await sleep(50);
  if (!gone()) for (const pid of await targets()) signal(pid, 'SIGKILL');
  for (let i = 0; i < 100 && !gone(); i++) await sleep(20);
}

/** Ends every process whose environment carries name=value (see `terminate`). */
export function stopMarked(name: string, value: string, graceMs = 3_000): Promise<void> {
  return terminate({ marked: () => processesMarked(name, value), graceMs });
}
