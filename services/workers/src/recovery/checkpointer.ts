import { isLiveTerminal } from '@tether/machines';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { CheckpointRef } from '@tether/contracts';
import { readActor } from '@tether/projector';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  lastBytes,
  type ActorHost,
  type CorrelationOrigins,
  type Logger,
  type ProcessManager,
  type SecretBox,
  type SnapshotStore,
} from '@tether/runtime';
import type { RespawnFrom } from '../terminals/terminal-worker.ts';
import type { Tmux } from '../terminals/tmux.ts';
import { shellProcess } from '../terminals/shell-process.ts';

export interface CheckpointerOptions {
  host: ActorHost;
  pm: ProcessManager;
  /** A checkpoint continues its terminal's flow: the correlation id of the terminal's first event. */
  origins: CorrelationOrigins;
  tmux: Tmux;
  snapshots: SnapshotStore;
  /** Seals the environment values (the installation key): they never reach the stream or a log. */
  box: SecretBox;
  logFile: (terminalId: string) => string;
  intervalMs: number;
  scrollbackBytes: number;
  log: Logger;
}

interface Taken {
  at: number;
  offset: number;
  cwd: string;
  ref?: CheckpointRef;
}

/**
 * Checkpoints of running terminals, taken when they print and at most every `intervalMs`: the pane's cwd
 * (from tmux; an event only when it changed), its environment (sealed), and the last bytes of its
 * scrollback, stored atomically in the snapshot store; the stream records where (terminal.checkpointed).
 */
export class Checkpointer {
  private readonly due = new Map<string, NodeJS.Timeout>();
  private readonly taken = new Map<string, Taken>();
  private readonly envs = new Map<string, string>();
  /** Printed while its checkpoint was being taken: another follows. */
  private readonly dirty = new Set<string>();
  private stopped = false;

  constructor(private readonly o: CheckpointerOptions) {}

  /** The terminal printed: a checkpoint follows, once the interval since the last one has passed. */
  printed(terminalId: string): void {
    if (this.stopped) return;
    if (this.due.has(terminalId)) return void this.dirty.add(terminalId); // again once the one under way is done
    // A terminal this process has not checkpointed yet waits a whole interval too: after a restart every
    // terminal prints at once, and 200 checkpoints at the same moment would crowd out the recovery.
    const last = this.taken.get(terminalId)?.at ?? Date.now();
    const since = Date.now() - last;
    const timer = setTimeout(
      () =>
        void this.take(terminalId)
          .catch((err) =>
            this.o.log.warn({ terminalId, err: String(err) }, 'checkpoint not taken; the previous one stays'),
          )
          .finally(() => {
            this.due.delete(terminalId);
            if (this.dirty.delete(terminalId)) this.printed(terminalId);
          }),
      Math.max(0, this.o.intervalMs - since),
    );
    timer.unref();
    this.due.set(terminalId, timer);
  }

  /** The terminal closed or exited: its snapshots go (the stream keeps that it had them). */
  ended(terminalId: string): void {
    clearTimeout(this.due.get(terminalId));
    this.due.delete(terminalId);
    this.dirty.delete(terminalId);
    this.taken.delete(terminalId);
    this.envs.delete(terminalId);
    void this.o.snapshots
      .removeAll(terminalId)
      .catch((err) =>
        this.o.log.warn({ terminalId, err: String(err) }, 'checkpoints of an ended terminal not removed'),
      );
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.due.values()) clearTimeout(t);
    this.due.clear();
  }

  /** One checkpoint of a running terminal; skipped when it neither printed nor moved since the last. */
  async take(terminalId: string): Promise<CheckpointRef | undefined> {
    const t = await readActor(this.o.host, 'terminal', terminalId);
    if (!t || !isLiveTerminal(t.value)) return undefined;
    const cwd = (await this.paths()).get(terminalId) ?? t.context.cwd;
    if (!cwd) return undefined; // the pane is gone: its exit is noticed elsewhere
    const cause = {
      id: `checkpoint:${terminalId}:${Date.now()}`,
      correlationId: await this.o.origins.of('terminal', terminalId, `terminal-${terminalId}`),
    };
    if (cwd !== t.context.cwd) await this.o.pm.report(cause, 'terminal', 'cwdChanged', terminalId, { cwd });
    const { offset, tail } = this.tail(terminalId);
    const last = this.taken.get(terminalId);
    if (last && last.offset === offset && last.cwd === cwd) {
      last.at = Date.now();
      return last.ref;
    }
    const scrollback = lastBytes(tail, this.o.scrollbackBytes);
    const body = encodeCheckpoint({
      v: 1,
      terminalId,
      takenAt: new Date().toISOString(),
      cwd,
      envSealed: await this.sealedEnv(terminalId, t.context.panePid),
      scrollback,
    });
    const ref = await this.o.snapshots.put(terminalId, body);
    const recorded: CheckpointRef = { ...ref, scrollbackBytes: scrollback.length };
    await this.o.pm.report(cause, 'terminal', 'checkpointed', terminalId, recorded);
    const previous = t.context.checkpoint;
    // The one the stream named before stays too: a crash between the put and the event still finds it.
    await this.o.snapshots.keepOnly(terminalId, previous ? [ref, previous] : [ref]);
    this.taken.set(terminalId, { at: Date.now(), offset, cwd, ref: recorded });
    return recorded;
  }

  /** Every pane's cwd in one tmux listing, shared by the checkpoints taken within the same moment. */
  private listing?: { at: number; paths: Promise<Map<string, string>> };
  private paths(): Promise<Map<string, string>> {
    if (!this.listing || Date.now() - this.listing.at > 200)
      this.listing = { at: Date.now(), paths: this.o.tmux.currentPaths() };
    return this.listing.paths;
  }

  /** The shell's environment as it started (/proc), sealed once per terminal. */
  private async sealedEnv(terminalId: string, panePid: number | undefined): Promise<string> {
    const known = this.envs.get(terminalId);
    if (known) return known;
    const pid = panePid ?? (await this.o.tmux.panePid(terminalId));
    const sealed = this.o.box.seal(shellProcess(pid).environ);
    this.envs.set(terminalId, sealed);
    return sealed;
  }

  /** The log's size and its last bytes (a little more than the bound, so the cut can find a line start). */
  private tail(terminalId: string): { offset: number; tail: Uint8Array } {
    const fd = openSync(this.o.logFile(terminalId), 'r');
    try {
      const offset = fstatSync(fd).size;
      const length = Math.min(offset, this.o.scrollbackBytes + 4_096);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, offset - length);
      return { offset, tail: buf };
    } finally {
      closeSync(fd);
    }
  }
}

/** Reads a terminal's checkpoint back for a respawn: its cwd, environment (unsealed) and scrollback. */
export async function loadCheckpoint(
  snapshots: SnapshotStore,
  box: SecretBox,
  terminalId: string,
  ref: CheckpointRef & { at: string },
): Promise<RespawnFrom> {
  const body = decodeCheckpoint(await snapshots.get(terminalId, ref));
  if (body.terminalId !== terminalId)
    throw new Error(`checkpoint_corrupt: the checkpoint of ${terminalId} names terminal ${body.terminalId}`);
  let env: Record<string, string>;
  try {
    env = box.open<Record<string, string>>(body.envSealed);
  } catch {
    throw new Error('checkpoint_corrupt: its environment does not open with this installation key');
  }
  return { cwd: body.cwd, env, scrollback: body.scrollback, takenAt: body.takenAt };
}
