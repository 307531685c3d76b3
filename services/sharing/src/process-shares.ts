import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir, processesMarked, stopMarked, type Logger } from '@tether/runtime';
import type { BackendStartSpec, RunningShareWorker, ShareBackendAdapter, ShareLinks } from './backends/backend.ts';

export interface ProcessSharesOptions {
  /** Folder for each worker's sockets and config. */
  dir: string;
  ownerId: string;
  tmuxSocket: string;
  readyTimeoutMs?: number;
  /** How often a worker is probed, how long a probe may take, and how many may fail in a row (default 1 s, 2 s, 2: a hang is cut off in about 6 s). */
  heartbeatMs?: number;
  probeTimeoutMs?: number;
  missesAllowed?: number;
}

/** What the supervisor tells the share: it failed (crashed or hung), with the reason. */
export type WorkerFailure = (shareId: string, reason: string) => void;

interface Supervised {
  worker: RunningShareWorker;
  stopping: boolean;
  misses: number;
  /** One probe at a time: a slow probe must not be counted again by the next tick. */
  probing: boolean;
  timer: NodeJS.Timeout;
}

/**
 * tmate and upterm shares: one worker process group per share, marked TETHER_OWNER and
 * TETHER_SHARE_ID. A worker that exits or stops answering its heartbeat probe is killed and its
 * share failed; the terminal is never touched (the worker only attached a client to it).
 */
export class ProcessShares {
  private readonly workers = new Map<string, Supervised>();

  constructor(
    private readonly adapters: Partial<Record<string, ShareBackendAdapter>>,
    private readonly onFailure: WorkerFailure,
    private readonly log: Logger,
    private readonly opts: ProcessSharesOptions,
  ) {
    privateDir(opts.dir); // workers' logs hold their session strings: bearer secrets
  }

  adapter(backend: string): ShareBackendAdapter | undefined {
    return this.adapters[backend];
  }

  has(shareId: string) {
    return this.workers.has(shareId);
  }

  get size() {
    return this.workers.size;
  }

  /** Starts the share's worker and waits until it is ready; throws (nothing left running) when it cannot. */
  async start(
    shareId: string,
    backend: string,
    terminalId: string,
    access: 'read' | 'write',
  ): Promise<{ pid: number; links: ShareLinks }> {
    const adapter = this.adapters[backend];
    if (!adapter) throw new Error(`no ${backend} adapter is configured`);
    const spec: BackendStartSpec = {
      shareId,
      terminalId,
      access,
      tmuxSocket: this.opts.tmuxSocket,
      workDir: join(this.opts.dir, shareId),
      env: { TETHER_OWNER: this.opts.ownerId, TETHER_SHARE_ID: shareId },
      readyTimeoutMs: this.opts.readyTimeoutMs ?? 10_000,
    };
    const worker = await adapter.start(spec);
    const s: Supervised = {
      worker,
      stopping: false,
      misses: 0,
      probing: false,
      timer: setInterval(() => void this.heartbeat(shareId, s), this.opts.heartbeatMs ?? 1_000),
    };
    this.workers.set(shareId, s);
    void worker.exited.then(({ code, signal }) => {
      clearInterval(s.timer);
      if (this.workers.get(shareId) === s) this.workers.delete(shareId);
      if (!s.stopping)
        this.onFailure(
          shareId,
          `the ${backend} worker (pid ${worker.pid}) exited ${signal ? `on ${signal}` : `with code ${code}`}`,
        );
    });
    return { pid: worker.pid, links: worker.links };
  }

  private async heartbeat(shareId: string, s: Supervised) {
    if (s.stopping || s.probing) return;
    s.probing = true;
    try {
      await s.worker.probe(this.opts.probeTimeoutMs ?? 2_000);
      s.misses = 0;
    } catch (err) {
      s.misses++;
      this.log.warn({ shareId, misses: s.misses, err: String(err) }, 'share worker missed a heartbeat');
      if (s.misses >= (this.opts.missesAllowed ?? 2) && !s.stopping) await this.killHung(shareId, s);
    } finally {
      s.probing = false;
    }
  }

  /** A hung worker gets no grace period (a stopped process cannot handle SIGTERM anyway). */
  private async killHung(shareId: string, s: Supervised) {
    s.stopping = true;
    clearInterval(s.timer);
    this.workers.delete(shareId);
    await stopMarked('TETHER_SHARE_ID', shareId, 0);
    await s.worker
      .stop()
      .catch((e) => this.log.error({ shareId, err: String(e) }, 'hung share worker could not be stopped'));
    this.onFailure(shareId, `the worker stopped answering (${s.misses} heartbeats missed in a row) and was killed`);
  }

  /** Stops the share's worker (revoke, expiry, switch, terminal closed); also what an earlier tether left behind. */
  async stop(shareId: string): Promise<void> {
    const s = this.workers.get(shareId);
    this.workers.delete(shareId);
    if (s) {
      s.stopping = true;
      clearInterval(s.timer);
      await s.worker.stop();
    }
    await stopMarked('TETHER_SHARE_ID', shareId);
    // Its log and sockets hold the session's links: nothing of an ended share stays on disk.
    rmSync(join(this.opts.dir, shareId), { recursive: true, force: true });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.workers.keys()].map((id) => this.stop(id)));
  }

  /** Processes of this share still alive (tests and the orphan check use it). */
  static leftovers(shareId: string): number[] {
    return processesMarked('TETHER_SHARE_ID', shareId);
  }
}
