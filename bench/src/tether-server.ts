import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TetherProcess } from '@tether/tests';

/** One `tether up` child for a bench phase: its own TETHER_HOME (worktrees, tmux socket), the bench's nats-server. */
export interface BenchTether {
  readonly url: string;
  readonly pid: number | undefined;
  readonly home: string;
  /** The child's stderr so far. */
  logs(): string;
  /** An HTTP call to the gateway, as `actor` ("kind:id") when given; throws on an error reply. T: the fields read. */
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, actor?: string): Promise<T>;
  /** SIGTERM, then the tmux server of its terminals, then its home. */
  stop(): Promise<void>;
}

export async function startTether(
  natsUrl: string,
  env: Record<string, string> = {},
  prefix = 'tether-bench-',
): Promise<BenchTether> {
  const home = mkdtempSync(join(tmpdir(), prefix));
  let tether: TetherProcess;
  try {
    tether = await TetherProcess.start({ NATS_URL: natsUrl, TETHER_HOME: home, TETHER_LOG_LEVEL: 'warn', ...env });
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  return {
    url: tether.url,
    pid: tether.proc.pid,
    home,
    logs: () => tether.logs,
    async call<T>(method: string, path: string, body?: unknown, actor?: string) {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (actor) headers['x-tether-actor'] = actor;
      const res = await fetch(tether.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as { ok?: boolean; error: { code: string; reason?: string; message: string } };
      if (json.ok === false)
        throw new Error(`${method} ${path}: ${json.error.code} ${json.error.reason ?? ''} ${json.error.message}`);
      return json as T;
    },
    async stop() {
      await tether.kill('SIGTERM');
      await execa('tmux', ['-S', join(home, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Milliseconds fn takes. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
