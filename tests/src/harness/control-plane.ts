import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import { createLogger, silentLogger } from '@tether/runtime';
import { startServer } from '@tether/cli';
import { useNats } from './fixtures.ts';
import { TEST_SHELL } from './test-shell.setup.ts';

/** A git repository with one commit, as a workspace for lanes. */
export async function gitRepo(): Promise<string> {
  const repo = mkdtempSync(join(tmpdir(), 'tether-repo-'));
  const git = (...args: string[]) => execa('git', ['-C', repo, ...args]);
  await git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# demo\n');
  await git('add', '.');
  await git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', 'init');
  return repo;
}

/** tether's whole server in-process against a real nats-server, with workspace "ws1" on a real repo. */
export function useControlPlane(env: Record<string, string> = {}) {
  const ctx = useNats();
  const cp = {} as { url: string; repo: string; home: string; server: Awaited<ReturnType<typeof startServer>> };
  beforeAll(async () => {
    cp.repo = await gitRepo();
    cp.home = mkdtempSync(join(tmpdir(), 'tether-cp-'));
    const logger = process.env.TETHER_TEST_LOGS ? createLogger('test') : silentLogger;
    cp.server = await startServer({
      store: ctx.store,
      logger,
      port: 0,
      home: cp.home,
      ownerId: `test-${process.pid}`,
      env: { TETHER_WORKSPACES: `ws1=${cp.repo},nogit=${tmpdir()}`, TETHER_SHELL: TEST_SHELL, ...env },
    });
    cp.url = cp.server.url;
  });
  afterAll(async () => {
    await cp.server?.stop();
    await execa('tmux', ['-S', join(cp.home, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
  });
  return Object.assign(cp, { ctx });
}

export async function api<T = unknown>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}
