import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, expect } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  CheckpointView,
  Items,
  LaneView,
  RecoveryStatusView,
  SessionView,
  TerminalView,
  type RecoveryView,
} from '@tether/contracts';
import { stopMarked } from '@tether/runtime';
import { termSubjects } from '@tether/workers';
import { TetherProcess, api, eventually, gitRepo, type Tether } from '../harness/index.ts';

const homes: string[] = [];

/** A data folder of its own, with the tmux socket its tethers use; `cleanUpHomes` ends what ran in it. */
export function recoveryHome(prefix = 'tether-recovery-') {
  const home = mkdtempSync(join(tmpdir(), prefix));
  homes.push(home);
  return { home, socket: join(home, 'terminals', 'tmux.sock') };
}

/**
 * After a file's tests: every tmux server of their data folders, and every process marked with their
 * installations (a shell a killed tmux server left behind on its dead pty, say), so nothing outlives the run.
 */
export async function cleanUpHomes() {
  for (const home of homes.splice(0)) {
    await killTmux(join(home, 'terminals', 'tmux.sock'));
    if (existsSync(join(home, 'installation.json'))) await stopMarked('TETHER_OWNER', installationOf(home), 500);
  }
}

/**
 * How a test file starts tethers: each test's are killed after it (tethers on one NATS share its work
 * queues), and after the file every data folder is cleaned up (`cleanUpHomes`).
 */
export function useTethers() {
  const procs: TetherProcess[] = [];
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill()));
  });
  afterAll(cleanUpHomes);
  return async (env: Record<string, string>, opts: { supervise?: boolean } = {}) => {
    const t = await TetherProcess.start(env, [], opts);
    procs.push(t);
    return t;
  };
}

/** The settings a recovery test runs tether with: fast checkpoints, and one workspace. */
export async function recoveryEnv(home: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    TETHER_HOME: home,
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
    TETHER_CHECKPOINT_INTERVAL_MS: '250',
    ...extra,
  };
}

/** A data folder of its own (see recoveryHome), and the env of tethers on the nats-server at `natsUrl` with it. */
export async function homeOnNats(natsUrl: string, extra: Record<string, string> = {}, prefix?: string) {
  const { home, socket } = recoveryHome(prefix);
  return { home, socket, env: await recoveryEnv(home, { NATS_URL: natsUrl, ...extra }) };
}

export const killTmux = (socket: string) => execa('tmux', ['-S', socket, 'kill-server'], { reject: false });

export const paneOf = async (socket: string, terminalId: string) =>
  Number(
    (
      await execa('tmux', ['-S', socket, 'display-message', '-p', '-t', `=${terminalId}:`, '#{pane_pid}'], {
        reject: false,
      })
    ).stdout || 0,
  );

/** One lane and its session, and `n` running terminals in it. */
export async function terminals(t: Tether, n: number) {
  const lane = LaneView.parse(
    (await api(t, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'recovery' })).body,
  );
  const session = SessionView.parse(
    (await api(t, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`, { provider: 'codex' })).body,
  );
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await api(t, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
      session_id: session.session_id,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    ids.push(TerminalView.parse(r.body).terminal_id);
  }
  return { lane, session, ids };
}

/** Every terminal's checkpoint, as the checkpoints read model shows it. */
export async function checkpoints(t: Tether) {
  return Items(CheckpointView).parse((await api(t, 'GET', '/v1/checkpoints')).body).items;
}

/** Waits until each terminal has a checkpoint that `ok` accepts. */
export async function checkpointed(t: Tether, ids: string[], ok: (c: CheckpointView) => boolean = () => true) {
  return eventually(
    () => checkpoints(t),
    (all) => ids.every((id) => all.some((c) => c.terminal_id === id && c.taken_at !== null && ok(c))),
    30_000,
  );
}

/**
 * Types `line(i)` into each terminal, and again while its checkpoint does not show the effect (`ok`): a
 * shell still starting up on a loaded machine may miss a line typed into it.
 */
export async function typeUntilCheckpointed(
  t: Tether,
  nc: NatsConnection,
  ids: string[],
  from: string,
  line: (i: number) => string,
  ok: (c: CheckpointView, i: number) => boolean,
) {
  const done = (all: CheckpointView[], i: number) =>
    all.some((c) => c.terminal_id === ids[i] && c.taken_at !== null && ok(c, i));
  return eventually(
    async () => {
      const all = await checkpoints(t);
      for (const [i, id] of ids.entries()) if (!done(all, i)) type(nc, id, from, line(i));
      return all;
    },
    (all) => ids.every((_, i) => done(all, i)),
    30_000,
  );
}

export async function recoveryStatus(t: Tether) {
  return RecoveryStatusView.parse((await api(t, 'GET', '/v1/recovery')).body);
}

/** The latest recovery run once it is over (live, live with issues, or failed). */
export async function finishedRun(t: Tether, timeoutMs = 60_000): Promise<RecoveryView> {
  const s = await eventually(
    () => recoveryStatus(t),
    (s) => s.latest !== null && !s.recovering,
    timeoutMs,
  );
  return s.latest!;
}

/** Types a line into a terminal as its writer session, over NATS. */
export function type(nc: NatsConnection, terminalId: string, from: string, line: string) {
  nc.publish(termSubjects.in(terminalId), JSON.stringify({ data: `${line}\r`, from }));
}

/** What terminals print from now on, over NATS, by terminal id. */
export function watchOutput(nc: NatsConnection, ids: string[]) {
  const out = new Map(ids.map((id) => [id, '']));
  const subs = ids.map((id) =>
    nc.subscribe(termSubjects.out(id), {
      callback: (_e, m) => {
        out.set(id, out.get(id)! + new TextDecoder().decode(m.data));
      },
    }),
  );
  return {
    text: (id: string) => out.get(id)!,
    stop: () => {
      for (const s of subs) s.unsubscribe();
    },
  };
}

/** Each terminal answers a typed line: it is relayed again, both ways. */
export async function allRelaying(nc: NatsConnection, ids: string[], from: string, tag: string) {
  const w = watchOutput(nc, ids);
  try {
    await nc.flush();
    await eventually(
      () => {
        for (const id of ids) if (!w.text(id).includes(`${tag}-ok`)) type(nc, id, from, `echo ${tag}-$((40+2))-ok`);
        return ids.filter((id) => !w.text(id).includes(`${tag}-42-ok`));
      },
      (left) => left.length === 0,
      30_000,
    );
  } finally {
    w.stop();
  }
}

/** Pids of live processes carrying this installation's marker (the zero-orphans check). */
export function markedProcesses(installationId: string): { pid: number; terminal?: string }[] {
  const out: { pid: number; terminal?: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (!env.includes(`TETHER_OWNER=${installationId}`)) continue;
      if (/ Z /.test(readFileSync(`/proc/${entry}/stat`, 'latin1').replace(/^.*\)/, ''))) continue;
      const terminal = env.find((e) => e.startsWith('TETHER_TERMINAL_ID='))?.slice('TETHER_TERMINAL_ID='.length);
      out.push({ pid: Number(entry), terminal });
    } catch {
      /* gone */
    }
  }
  return out;
}

export const installationOf = (home: string) =>
  (JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')) as { id: string }).id;

export { TetherProcess };
