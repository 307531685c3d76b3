import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import { createLogger, silentLogger } from '@tether/runtime';
import { startServer } from '@tether/cli';
import type { Role } from '@tether/contracts';
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

/** A running tether and a token: where a test's calls go, and as whom (the owner's token by default). */
export interface Tether {
  url: string;
  token: string;
}

/** tether's whole server in-process against a real nats-server, with workspace "ws1" on a real repo. */
export function useControlPlane(env: Record<string, string> = {}) {
  const ctx = useNats();
  const cp = {} as Tether & {
    repo: string;
    home: string;
    server: Awaited<ReturnType<typeof startServer>>;
  };
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
      owner: 'ops', // the owner's credential (cp.token) is human:ops, an operator
      env: { TETHER_WORKSPACES: `ws1=${cp.repo},nogit=${tmpdir()}`, TETHER_SHELL: TEST_SHELL, ...env },
    });
    cp.url = cp.server.url;
    cp.token = cp.server.token;
  });
  afterAll(async () => {
    await cp.server?.stop();
    await killTmuxServers(cp.home);
  });
  return Object.assign(cp, { ctx });
}

/** The tmux servers a tether's data folder holds (terminals, task runs), which outlive it by design: a test's end kills them. */
export const killTmuxServers = async (home: string): Promise<void> => {
  await Promise.all(
    ['terminals', 'tasks'].map((dir) =>
      execa('tmux', ['-S', join(home, dir, 'tmux.sock'), 'kill-server'], { reject: false }),
    ),
  );
};

/** The Authorization header of a tether's token. */
export const bearer = (t: Pick<Tether, 'token'>) => ({ authorization: `Bearer ${t.token}` });

/** One HTTP call to `t` with its token (a header given here wins; authorization "" sends none). */
export async function api<T = unknown>(
  t: Tether,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const all: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...bearer(t),
    ...headers,
  };
  if (all.authorization === '') delete all.authorization;
  const res = await fetch(t.url + path, {
    method,
    headers: all,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const minted = new Map<string, Promise<Tether>>();

/**
 * `t` as another actor ("human:bob", "ai:codex-1"): a credential with `role` made by t's token (an
 * operator's), once per tether, actor and role.
 */
export function asActor(t: Tether, actor: string, role: Role): Promise<Tether> {
  const key = `${t.url} ${actor} ${role}`;
  let p = minted.get(key);
  if (!p) {
    p = api<{ token: string }>(t, 'POST', '/v1/credentials', { actor, role, label: 'test' }).then((r) => {
      if (r.status !== 201) throw new Error(`could not make a credential for ${actor}: ${JSON.stringify(r.body)}`);
      return { url: t.url, token: r.body.token };
    });
    minted.set(key, p);
  }
  return p;
}
