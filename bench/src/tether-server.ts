import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TetherProcess, killTmuxServers } from '@tether/tests';

/** One `tether up` child for a bench phase: its own TETHER_HOME (worktrees, tmux socket), the bench's nats-server. */
export interface BenchTether {
  readonly url: string;
  readonly pid: number | undefined;
  readonly home: string;
  /** The child's stderr so far. */
  logs(): string;
  /** An HTTP call to the gateway, as `actor` ("kind:id", an operator credential made once) or the owner; throws on an error reply. T: the fields read. */
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, actor?: string): Promise<T>;
  /** The token `actor` sends with (an operator credential made once), or the owner's. */
  token(actor?: string): Promise<string>;
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
  // The bench measures the paths, not who may take them: every actor is an operator.
  const tokens = new Map<string, Promise<string>>();
  const tokenOf = (actor: string | undefined): Promise<string> => {
    if (!actor) return Promise.resolve(tether.token);
    let t = tokens.get(actor);
    if (!t) {
      t = fetch(`${tether.url}/v1/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tether.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actor, role: 'operator', label: 'bench' }),
      }).then(async (r) => ((await r.json()) as { token: string }).token);
      tokens.set(actor, t);
    }
    return t;
  };
  return {
    url: tether.url,
    pid: tether.proc.pid,
    home,
    logs: () => tether.logs,
    token: tokenOf,
    async call<T>(method: string, path: string, body?: unknown, actor?: string) {
      const headers: Record<string, string> = { authorization: `Bearer ${await tokenOf(actor)}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
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
      await killTmuxServers(home);
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
