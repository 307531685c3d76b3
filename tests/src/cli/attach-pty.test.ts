import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TETHER_BIN, TetherProcess, eventually, gitRepo, killTmuxServers, useNats } from '../harness/index.ts';
import { as, policyFile, writeShareForBob } from '../sharing/helpers.ts';

// `tether attach` in a real terminal (a pty from script(1), sized with stty): it sizes the shared terminal when
// its participant may type, follows SIGWINCH, draws a full-screen program, says when it is letterboxed, and comes
// back by itself after a cut connection (resuming: nothing twice) and after tether restarts (the screen reset first).
const ctx = useNats();
let up: TetherProcess;
let env: Record<string, string>;
let port: number;
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
const startTether = async () => TetherProcess.start(env, ['--port', String(port)]);
beforeAll(async () => {
  port = await freePort();
  env = {
    NATS_URL: ctx.nats.url,
    TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-attachpty-')),
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
    TETHER_SHARE_POLICY: policyFile(),
    TETHER_SHELL: 'bash --noprofile --norc',
  };
  up = await startTether();
});
afterAll(async () => {
  await up?.kill();
  await killTmuxServers(env.TETHER_HOME!);
});

const tmux = (...args: string[]) => execa('tmux', ['-S', join(env.TETHER_HOME!, 'terminals', 'tmux.sock'), ...args]);
const windowSize = async (terminalId: string) =>
  (await tmux('display-message', '-p', '-t', `=${terminalId}:`, '#{window_width}x#{window_height}')).stdout.trim();
const typeIn = (terminalId: string, text: string) => tmux('send-keys', '-t', `=${terminalId}:`, text, 'Enter');

/** A write share of a new terminal with a link for bob, who may type (or not, `granted: false`). */
async function shared(granted = true) {
  const { term, share, link } = await writeShareForBob(up);
  if (granted)
    await as(
      up,
      'human:alice',
      'POST',
      `/v1/shares/${share.share_id}/participants/${link.participant_id}/grant-write`,
      {},
    );
  return { term, share, link };
}

interface PtyAttach {
  proc: ResultPromise;
  /** Everything the pty showed (the terminal's output and tether's notices). */
  screen: () => string;
  /** Resizes the pty (stty on its device): the attach gets SIGWINCH. */
  resize: (cols: number, rows: number) => Promise<unknown>;
  detach: () => Promise<number | undefined>;
}

/** `tether attach <link>` in a pty of cols x rows made by script(1). */
async function ptyAttach(link: string, cols: number, rows: number): Promise<PtyAttach> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-pty-'));
  const ttyFile = join(dir, 'tty');
  const inner = `stty cols ${cols} rows ${rows}; tty > ${ttyFile}; exec ${process.execPath} ${TETHER_BIN} attach '${link}'`;
  const proc = execa('script', ['-qfec', inner, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm-256color' },
    reject: false,
    stdin: 'pipe',
  });
  let screen = '';
  proc.stdout!.on('data', (d) => (screen += d));
  const tty = (await eventually(
    () => {
      try {
        return readFileSync(ttyFile, 'utf8').trim();
      } catch {
        return '';
      }
    },
    (t) => t.startsWith('/dev/'),
  )) as string;
  return {
    proc,
    screen: () => screen,
    resize: (c, r) => execa('stty', ['-F', tty, 'cols', String(c), 'rows', String(r)]),
    detach: async () => {
      proc.stdin!.write('\x1d');
      return (await proc).exitCode;
    },
  };
}
const shows = (a: PtyAttach, text: string | RegExp) =>
  eventually(a.screen, (s) => (typeof text === 'string' ? s.includes(text) : text.test(s)), 30_000);
const count = (s: string, text: string) => s.split(text).length - 1;

/** A TCP proxy in front of tether whose connections the test can cut (a network blip). */
async function cuttableProxy(target: number) {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => open.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      for (const s of open) s.destroy();
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('tether attach in a real terminal', () => {
  it("a writer's attach sizes the remote pane and follows SIGWINCH; top renders; Ctrl-] exits 0", async () => {
    const { term, link } = await shared();
    const bob = await ptyAttach(link.url, 100, 28);
    await shows(bob, 'as bob (read-write)');
    await eventually(
      () => windowSize(term.terminal_id),
      (s) => s === '100x28',
    );
    await shows(bob, 'sized by bob, 100x28');
    await typeIn(term.terminal_id, 'top -d 1');
    await shows(bob, /load average/);
    await shows(bob, /PID\s+USER/);
    await bob.resize(120, 40);
    await eventually(
      () => windowSize(term.terminal_id),
      (s) => s === '120x40',
    );
    await shows(bob, 'sized by bob, 120x40');
    await tmux('send-keys', '-t', `=${term.terminal_id}:`, 'q');
    expect(await bob.detach()).toBe(0);
  });

  it('a read-only viewer smaller than the terminal is told so in one line, and does not change its size', async () => {
    const { term, link } = await shared(false);
    const bob = await ptyAttach(link.url, 80, 24);
    await shows(bob, 'as bob (read-only)');
    await shows(bob, 'this terminal is 80x24, smaller than the shared 200x50');
    expect(await windowSize(term.terminal_id)).toBe('200x50');
    // Made large enough, it says so; made small again, it tells again.
    await bob.resize(220, 60);
    await shows(bob, 'this terminal (220x60) shows all of the shared 200x50 now');
    await bob.resize(90, 30);
    await shows(bob, 'this terminal is 90x30, smaller');
    expect(await bob.detach()).toBe(0);
  });

  it('a cut connection: it reconnects by itself and resumes, so output printed before, during and after shows once', async () => {
    const { term, link } = await shared(false);
    const proxy = await cuttableProxy(port);
    const viaProxy = link.url.replace(`:${port}/`, `:${proxy.port}/`);
    const bob = await ptyAttach(viaProxy, 120, 40);
    await shows(bob, 'as bob (read-only)');
    await typeIn(term.terminal_id, 'echo BEFORE-$((40+2))');
    await shows(bob, 'BEFORE-42');
    proxy.cut();
    await shows(bob, 'connection lost');
    await typeIn(term.terminal_id, 'echo DURING-$((40+2))');
    await shows(bob, 'output resumed where it stopped');
    await typeIn(term.terminal_id, 'echo AFTER-$((40+2))');
    await shows(bob, 'AFTER-42');
    const screen = bob.screen();
    expect([count(screen, 'BEFORE-42'), count(screen, 'DURING-42'), count(screen, 'AFTER-42')]).toEqual([1, 1, 1]);
    expect(screen).not.toContain('\x1bc'); // resumed: the screen was never reset
    expect(await bob.detach()).toBe(0);
    await proxy.close();
  });

  it('tether restarts: it reconnects by itself, resets the screen before the new scrollback, the marker shows once after it', async () => {
    const { term, link } = await shared(false);
    const bob = await ptyAttach(link.url, 120, 40);
    await shows(bob, 'as bob (read-only)');
    await typeIn(term.terminal_id, 'echo MARK-$((40+2))');
    await shows(bob, 'MARK-42');
    await up.kill('SIGTERM');
    await shows(bob, 'connection lost');
    up = await startTether();
    await shows(bob, /reconnected to share \S+, output from the start/);
    await typeIn(term.terminal_id, 'echo NEXT-$((40+2))');
    await shows(bob, 'NEXT-42');
    const afterReset = bob.screen().split('\x1bc').at(-1)!;
    expect(bob.screen()).toContain('\x1bc');
    expect([count(afterReset, 'MARK-42'), count(afterReset, 'NEXT-42')]).toEqual([1, 1]);
    expect(await bob.detach()).toBe(0);
  });

  it('tether share --new in a real terminal attaches you to the terminal it made and shared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-sharenew-'));
    const inner = `stty cols 100 rows 30; exec ${process.execPath} ${TETHER_BIN} share --new --name guest`;
    const sharing = execa('script', ['-qfec', inner, join(dir, 'typescript')], {
      env: {
        ...process.env,
        ...env,
        TETHER_URL: up.url,
        TETHER_TOKEN: up.token,
        TETHER_WORKSPACE: 'ws1',
        TERM: 'xterm-256color',
      },
      reject: false,
      stdin: 'pipe',
    });
    const clients = await eventually(
      async () => (await tmux('list-clients', '-F', '#{session_name}').catch(() => ({ stdout: '' }))).stdout.trim(),
      (c) => c.length > 0,
      30_000,
    );
    const printed = readFileSync(join(dir, 'typescript'), 'utf8');
    expect(printed).toMatch(/^terminal (\S{8}) {2}active \(new\)/m);
    expect(clients.startsWith(/^terminal (\S{8})/m.exec(printed)![1]!)).toBe(true);
    expect(printed).toContain('link for guest (participant ');
    expect(printed).toContain('attaching you to terminal');
    await tmux('detach-client', '-s', `=${clients}`);
    expect((await sharing).exitCode).toBe(0);
  });

  it('stops with the reason and exit 1 when the share is revoked', async () => {
    const { share, link } = await shared(false);
    const bob = await ptyAttach(link.url, 100, 30);
    await shows(bob, 'as bob (read-only)');
    await as(up, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, { reason: 'pty test over' });
    expect((await bob.proc).exitCode).toBe(1);
    expect(bob.screen()).toMatch(/disconnected: .*pty test over/);
    expect(bob.screen()).not.toContain('reconnecting');
  });
});
