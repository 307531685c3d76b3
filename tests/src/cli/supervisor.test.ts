import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { PreviousExit } from '@tether/contracts';
import { processesMarked, signal } from '@tether/runtime';
import { TETHER_BIN, TetherProcess, eventually, type RunFile, useNats } from '../harness/index.ts';

// `tether up` supervises its server by default: real supervisors, real children, real kill -9 and
// SIGSTOP. A crash or a hang is restarted (the next server told how the last one ended); a clean stop,
// a signal to the supervisor or a bad setting is not.

const ctx = useNats();
const procs: TetherProcess[] = [];
const homes: string[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  for (const home of homes) {
    for (const pid of processesMarked('TETHER_HOME', home)) signal(pid, 'SIGKILL');
    await execa('tmux', ['-S', join(home, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
  }
});

const newHome = () => {
  const home = mkdtempSync(join(tmpdir(), 'tether-sup-'));
  homes.push(home);
  return home;
};
const supervised = async (env: Record<string, string> = {}) => {
  const up = await TetherProcess.start({ TETHER_HOME: newHome(), NATS_URL: ctx.nats.url, ...env }, [], {
    supervise: true,
  });
  procs.push(up);
  return up;
};
const exitOf = (up: TetherProcess) =>
  up.alive
    ? new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        up.proc.once('exit', (code, signal) => resolve({ code, signal })),
      )
    : Promise.resolve({ code: up.proc.exitCode, signal: up.proc.signalCode });
/** The server of `up` once it listens: its pid is not the supervisor's. */
const listening = (up: TetherProcess, not?: number) =>
  eventually(
    () => up.server(),
    (s): s is RunFile & { url: string } => Boolean(s?.url && s.pid !== up.proc.pid && s.pid !== not),
    30_000,
  ) as Promise<RunFile & { url: string }>;
const environ = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'latin1')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/ Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1').replace(/^.*\)/, ''));
  } catch {
    return false;
  }
};
/**
 * NODE_OPTIONS for a server that dies (exit 3) before it listens, after `ms` of synchronous sleep: a
 * preload that only the supervised child runs (TETHER_SUPERVISED), the supervisor loads it as a no-op.
 */
function dyingServer(home: string, ms: number) {
  const file = join(home, 'die.cjs');
  writeFileSync(
    file,
    `if (process.env.TETHER_SUPERVISED === '1') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms}); process.exit(3); }\n`,
  );
  return { NODE_OPTIONS: `--require ${file}` };
}
const crashLines = (logs: string) =>
  logs
    .split('\n')
    .filter((l) => l.includes('server crashed; restarting'))
    .map((l) => JSON.parse(l) as { exit: PreviousExit; restartInMs: number });

/** No run or supervisor file, and nothing of this home running. */
function nothingLeft(home: string) {
  expect(processesMarked('TETHER_HOME', home).map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1'))).toEqual([]);
  expect(existsSync(join(home, 'tether.run.json'))).toBe(false);
  expect(existsSync(join(home, 'tether.supervisor.json'))).toBe(false);
}

describe('tether up supervises its server', () => {
  it('kill -9 of the server: another one serves, told that its predecessor died of SIGKILL', async () => {
    const up = await supervised();
    const first = await listening(up);
    expect(environ(first.pid).TETHER_SUPERVISED).toBe('1');
    expect(environ(first.pid).TETHER_PREVIOUS_EXIT).toBeUndefined();
    // The supervisor's own file (0600) names it, not the server: the server holds the run claim.
    const file = join(up.home, 'tether.supervisor.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(up.proc.pid);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Three crashes in a row (a crash loop): each is restarted, twice as late as the one before.
    let server = first;
    const previous: PreviousExit[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      process.kill(server.pid, 'SIGKILL');
      const next = await listening(up, server.pid);
      console.log('RESTART_TO_LISTENING_MS', i + 1, Date.now() - t0);
      expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
      const exit = PreviousExit.parse(JSON.parse(environ(next.pid).TETHER_PREVIOUS_EXIT!));
      expect(exit).toMatchObject({ pid: server.pid, code: null, signal: 'SIGKILL', reason: 'exited' });
      previous.push(exit);
      server = next;
    }
    expect(up.alive).toBe(true);
    expect(crashLines(up.logs)).toEqual(
      previous.map((exit, i) => expect.objectContaining({ exit, restartInMs: 100 * 2 ** i })),
    );
    await up.kill('SIGTERM');
  });

  it('a hung server (SIGSTOP) is killed after TETHER_SUPERVISOR_TIMEOUT_MS without a heartbeat and restarted', async () => {
    const up = await supervised({ TETHER_SUPERVISOR_TIMEOUT_MS: '2s' });
    const hung = await listening(up);
    process.kill(hung.pid, 'SIGSTOP');
    const next = await listening(up, hung.pid);
    expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
    expect(alive(hung.pid)).toBe(false);
    const previous = PreviousExit.parse(JSON.parse(environ(next.pid).TETHER_PREVIOUS_EXIT!));
    expect(previous).toMatchObject({ pid: hung.pid, signal: 'SIGKILL', reason: 'heartbeat' });
    await up.kill('SIGTERM');
  });

  it('tether down stops server and supervisor with 0, restarts nothing and leaves no file', async () => {
    const up = await supervised();
    const server = await listening(up);
    const exited = exitOf(up);
    const r = await execa(process.execPath, [TETHER_BIN, 'down', '--json'], {
      env: { ...process.env, TETHER_HOME: up.home },
      reject: false,
      timeout: 30_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, pid: server.pid, supervisorPid: up.proc.pid });
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(alive(server.pid)).toBe(false);
    expect(up.logs).not.toContain('server crashed');
    nothingLeft(up.home);
  });

  it('SIGTERM to the supervisor: the server stops cleanly, both exit 0, nothing restarted', async () => {
    const up = await supervised();
    const server = await listening(up);
    const exited = exitOf(up);
    up.proc.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(alive(server.pid)).toBe(false);
    expect(up.logs).not.toContain('server crashed');
    nothingLeft(up.home);
  });

  it('a server that dies before it listens is restarted ever later, and after 5 in a row the supervisor gives up', async () => {
    const home = newHome();
    const r = await execa(process.execPath, [TETHER_BIN, 'up', '--port', '0'], {
      env: {
        ...process.env,
        TETHER_HOME: home,
        NATS_URL: ctx.nats.url,
        TETHER_LOG_LEVEL: 'warn',
        ...dyingServer(home, 0),
      },
      reject: false,
      timeout: 30_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'error UNAVAILABLE: the tether server died 5 times in a row before it listened (last: exit code 3)',
    );
    // Restarted 4 times, each twice as late (the crashes come well within 10 s of each other).
    const crashes = crashLines(r.stderr);
    expect(crashes.map((c) => c.restartInMs)).toEqual([100, 200, 400, 800]);
    expect(crashes.map((c) => [c.exit.code, c.exit.reason])).toEqual(Array(4).fill([3, 'exited']));
    expect(new Set(crashes.map((c) => c.exit.pid)).size).toBe(4);
    nothingLeft(home);
  });

  it('tether down between two servers stops the supervisor: exit 0, no server started after it', async () => {
    const home = newHome();
    const up = execa(process.execPath, [TETHER_BIN, 'up', '--port', '0'], {
      env: {
        ...process.env,
        TETHER_HOME: home,
        NATS_URL: ctx.nats.url,
        TETHER_LOG_LEVEL: 'warn',
        ...dyingServer(home, 700),
      },
      reject: false,
      timeout: 30_000,
    });
    // A server that dies before it claims the data folder: only the supervisor's file is ever there.
    await eventually(
      () => existsSync(join(home, 'tether.supervisor.json')),
      (there) => there,
    );
    const down = await execa(process.execPath, [TETHER_BIN, 'down', '--json'], {
      env: { ...process.env, TETHER_HOME: home },
      reject: false,
      timeout: 30_000,
    });
    expect(down.exitCode, down.stderr).toBe(0);
    const supervisorPid = up.pid;
    expect(JSON.parse(down.stdout)).toMatchObject({ ok: true, pid: null, supervisorPid });
    const r = await up;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('died 5 times');
    nothingLeft(home);
  });

  it('a bad setting: the supervisor ends with INVALID_CONFIG at once and starts no server', async () => {
    const home = newHome();
    const r = await execa(process.execPath, [TETHER_BIN, 'up', '--port', '0'], {
      env: { ...process.env, TETHER_HOME: home, NATS_URL: ctx.nats.url, TETHER_PORT: 'abc' },
      reject: false,
      timeout: 30_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('error INVALID_CONFIG');
    expect(r.stderr).toContain('TETHER_PORT="abc"');
    expect(r.stderr.match(/INVALID_CONFIG/g)).toHaveLength(1); // once: no restart printed it again
    expect(r.stderr).not.toContain('server crashed');
    nothingLeft(home);
  });

  it('a start error of the server (its port is busy) ends the supervisor with that error, without a restart', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as AddressInfo).port;
    const home = newHome();
    const r = await execa(process.execPath, [TETHER_BIN, 'up', '--port', String(port), '--json'], {
      env: { ...process.env, TETHER_HOME: home, NATS_URL: ctx.nats.url, TETHER_LOG_LEVEL: 'warn' },
      reject: false,
      timeout: 30_000,
    });
    busy.close();
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(1);
    // The server printed it once (--json: on stderr); the supervisor adds nothing and starts no second server.
    const errors = r.stderr
      .split('\n')
      .filter((l) => l.includes('"ok":false'))
      .map((l) => JSON.parse(l).error);
    expect(errors).toEqual([expect.objectContaining({ code: 'UNAVAILABLE' })]);
    expect(errors[0].message).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(r.stderr).not.toContain('server crashed');
    nothingLeft(home);
  });
});
