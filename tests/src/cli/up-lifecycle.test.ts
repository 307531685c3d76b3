import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { RelayClose, ShareCreated } from '@tether/contracts';
import { freePort, processesMarked, signal, waitForPort } from '@tether/runtime';
import { bearer, TETHER_BIN, TetherProcess, eventually, gitRepo, openViewer, useNats } from '../harness/index.ts';
import { createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

// `tether up`'s life cycle with real processes: a bad start ends at once and leaves nothing, a signal
// or `tether down` stops it (viewers told, its nats-server too), and nothing of it is left running.

const ctx = useNats();
const procs: TetherProcess[] = [];
const homes: string[] = [];
const others: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  for (const p of others) p.kill('SIGKILL');
  for (const home of homes) {
    for (const pid of processesMarked('TETHER_HOME', home)) signal(pid, 'SIGKILL');
    await execa('tmux', ['-S', join(home, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
  }
});

const newHome = () => {
  const home = mkdtempSync(join(tmpdir(), 'tether-life-'));
  homes.push(home);
  return home;
};
/** No NATS_URL: `tether up` starts its own nats-server under the home (nats-server is installed here). */
const childNats = (home: string) => ({ TETHER_HOME: home, NATS_URL: '' });
const tether = (args: string[], env: Record<string, string>) =>
  execa(process.execPath, [TETHER_BIN, ...args], {
    env: { ...process.env, TETHER_LOG_LEVEL: 'warn', ...env },
    reject: false,
    timeout: 20_000, // far above what any of these takes: a hang shows as timedOut, not as a stuck suite
  });
const startUp = async (env: Record<string, string>) => {
  const up = await TetherProcess.start(env);
  procs.push(up);
  return up;
};
const natsPidOf = (home: string) =>
  Number(
    readFileSync(join(home, 'nats', 'url'), 'utf8')
      .trim()
      .split(' ')[1],
  );
const exitOf = (up: TetherProcess) =>
  up.alive
    ? new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        up.proc.once('exit', (code, signal) => resolve({ code, signal })),
      )
    : Promise.resolve({ code: up.proc.exitCode, signal: up.proc.signalCode });

/** The terminals' tmux server and what runs under it (shells, output loggers): they outlive tether by design. */
function inTmux(pid: number): boolean {
  for (
    let p = pid;
    p > 1;
    p = Number(
      readFileSync(`/proc/${p}/stat`, 'latin1')
        .replace(/^.*\) \S+ /, '')
        .split(' ')[0],
    )
  )
    if (readFileSync(`/proc/${p}/cmdline`, 'latin1').startsWith('tmux')) return true;
  return false;
}

/** Nothing of this home runs any more (tether, its nats-server, share workers), and it left no run or URL file. */
function nothingLeft(home: string, { terminals = false } = {}) {
  // Every process tether starts inherits TETHER_HOME.
  const left = processesMarked('TETHER_HOME', home).filter((pid) => !(terminals && inTmux(pid)));
  expect(left.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1'))).toEqual([]);
  expect(existsSync(join(home, 'tether.run.json'))).toBe(false);
  expect(existsSync(join(home, 'nats', 'url'))).toBe(false);
}

describe('tether up: a bad start ends at once and leaves nothing running', () => {
  it('a busy port with a nats-server of its own: UNAVAILABLE with what to do, and its nats-server stopped', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as AddressInfo).port;
    const home = newHome();
    const r = await tether(['up', '--port', String(port)], childNats(home));
    busy.close();
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`error UNAVAILABLE: port ${port} on 127.0.0.1 is in use`);
    expect(r.stderr).toContain('pick another with --port');
    expect(existsSync(join(home, 'nats', 'jetstream'))).toBe(true); // it did start one
    nothingLeft(home);
  });

  it('--port abc, --port 70000 and a --bind that is not ours: INVALID_COMMAND naming the flag', async () => {
    const cases = [
      [['--port', 'abc'], '--port takes a whole number from 0 to 65535, got "abc"'],
      [['--port', '70000'], '--port takes a whole number from 0 to 65535, got "70000"'],
      [['--port', '0', '--bind', '203.0.113.7'], '--bind "203.0.113.7" is not an address of this machine'],
    ] as const;
    const homes = cases.map(() => newHome());
    const runs = await Promise.all(cases.map(([args], i) => tether(['up', ...args], childNats(homes[i]!))));
    for (const [i, r] of runs.entries()) {
      expect(r.timedOut).toBe(false);
      expect(r.exitCode, r.stderr).not.toBe(0);
      expect(r.stderr).toContain(`error INVALID_COMMAND: ${cases[i]![1]}`);
      nothingLeft(homes[i]!);
    }
  });

  it('a second tether up on the same data folder is refused; the first keeps running', async () => {
    const home = newHome();
    const first = await startUp({ TETHER_HOME: home, NATS_URL: ctx.nats.url });
    const r = await tether(['up', '--port', '0'], { TETHER_HOME: home, NATS_URL: ctx.nats.url });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `error UNAVAILABLE: tether already runs on data folder ${home} (pid ${first.proc.pid} at ${first.url}); stop it with \`tether down\``,
    );
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    await first.kill('SIGTERM'); // two tethers on one NATS would share its commands with the next test's
  });
});

describe('tether up: a signal stops it cleanly, viewers told', () => {
  /** A tether with a native share of a running terminal and `viewers` connected to it. */
  async function sharedWithViewers(env: Record<string, string>, viewers: Array<'cli' | 'browser'>) {
    const up = await startUp({
      ...env,
      TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
      TETHER_SHARE_POLICY: policyFile(),
    });
    const { term } = await runningTerminal(up);
    const created = await createShare(up, 'human:alice', { terminal_id: term.terminal_id, participant: 'bob' });
    const { link } = ShareCreated.parse(created.body);
    const opened = await Promise.all(viewers.map((via) => openViewer(link!.url, via)));
    for (const v of opened)
      await eventually(
        () => v.messages,
        (m) => m.some((x) => x.type === 'welcome'),
      );
    return { up, viewers: opened };
  }

  for (const [signal, how] of [
    ['SIGINT', 'its own nats-server'],
    ['SIGTERM', 'NATS_URL'],
  ] as const)
    it(`${signal} with viewers and a dashboard connected (${how}): exit 0 soon, every viewer told why, nothing left`, async () => {
      const home = newHome();
      const env = how === 'NATS_URL' ? { TETHER_HOME: home, NATS_URL: ctx.nats.url } : childNats(home);
      const { up, viewers } = await sharedWithViewers(env, ['cli', 'browser']);
      const natsPid = how === 'NATS_URL' ? undefined : natsPidOf(home);
      // A dashboard's live stream is open too: it must not hold the gateway's close.
      const dashboard = (await fetch(`${up.url}/v1/stream`, { headers: bearer(up) })).body!.getReader();
      await dashboard.read();
      const streamEnded = (async () => {
        while (!(await dashboard.read().catch(() => ({ done: true }))).done);
      })();
      const t0 = Date.now();
      const exited = exitOf(up);
      up.proc.kill(signal);
      expect(await exited).toEqual({ code: 0, signal: null });
      await streamEnded;
      // A clean stop takes a few hundred ms; the bound is loose for a loaded machine, far under the 10 s hard stop.
      expect(Date.now() - t0).toBeLessThan(5_000);
      console.log('STOPMS', signal, Date.now() - t0);
      for (const v of viewers) {
        expect(await v.closed).toMatchObject({ code: RelayClose.shuttingDown });
        expect(v.messages.at(-1)).toMatchObject({
          type: 'ended',
          reason: expect.stringContaining('tether is shutting down'),
        });
      }
      expect(up.logs).not.toMatch(/shutdown took over|"level":50/);
      if (natsPid) expect(processesMarked('TETHER_NATS_DIR', join(home, 'nats'))).not.toContain(natsPid);
      nothingLeft(home, { terminals: true });
    });

  it('a signal while it is still starting stops it right after the start', async () => {
    const home = newHome();
    const proc = execa(process.execPath, [TETHER_BIN, 'up', '--port', '0'], {
      env: { ...process.env, TETHER_LOG_LEVEL: 'warn', ...childNats(home) },
      reject: false,
    });
    // The run file is the first thing `tether up` writes, after its signal handlers are in place.
    await eventually(
      () => existsSync(join(home, 'tether.run.json')),
      (there) => there,
    );
    proc.kill('SIGINT');
    const r = await proc;
    expect(r.exitCode, r.stderr).toBe(0);
    nothingLeft(home);
  });
});

describe('tether down', () => {
  it('stops the running tether and its nats-server; then says nothing runs', async () => {
    const home = newHome();
    const up = await startUp(childNats(home));
    const natsPid = natsPidOf(home);
    const exited = exitOf(up);
    const r = await tether(['down', '--json'], { TETHER_HOME: home });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, pid: up.proc.pid, natsPids: [natsPid] });
    expect(await exited).toEqual({ code: 0, signal: null });
    nothingLeft(home);

    const again = await tether(['down'], { TETHER_HOME: home });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`error NOT_FOUND: no tether runs on data folder ${home}`);
  });

  it('after a kill -9 of tether, stops the nats-server it left; the next tether up would have reused it', async () => {
    const home = newHome();
    const up = await startUp(childNats(home));
    const natsPid = natsPidOf(home);
    await up.kill('SIGKILL');
    expect(processesMarked('TETHER_NATS_DIR', join(home, 'nats'))).toEqual([natsPid]);
    const r = await tether(['down'], { TETHER_HOME: home });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `no tether was running on ${home}; stopped the nats-server it left behind (pid ${natsPid})`,
    );
    nothingLeft(home);
  });

  it('finds by its store folder a nats-server an older tether left (one without the marker)', async () => {
    const home = newHome();
    const port = await freePort();
    mkdirSync(join(home, 'nats'), { recursive: true });
    const nats = spawn(
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(home, 'nats', 'jetstream')],
      {
        stdio: 'ignore',
      },
    );
    others.push(nats);
    writeFileSync(join(home, 'nats', 'url'), `nats://127.0.0.1:${port} ${nats.pid}\n`);
    await waitForPort(port);
    const exited = new Promise((resolve) => nats.once('exit', resolve));
    const r = await tether(['down'], { TETHER_HOME: home });
    expect(r.stdout, r.stderr).toContain(`stopped the nats-server it left behind (pid ${nats.pid})`);
    await exited;
    expect(existsSync(join(home, 'nats', 'url'))).toBe(false);
  });
});
