import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, killTmuxServers, TETHER_BIN, TetherProcess, useNats } from '../harness/index.ts';

// What `tether up` tells at start: one line per subsystem (store, policy, harness, http), pretty when
// stderr is a terminal and JSON lines otherwise (TETHER_LOG_FORMAT overrides), and a first step from the README.

const ctx = useNats();
const homes: string[] = [];
const procs: TetherProcess[] = [];
const ptys: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  for (const p of ptys) if (p.exitCode === null && p.signalCode === null) process.kill(-p.pid!, 'SIGKILL');
  await Promise.all(homes.map(killTmuxServers));
});
const home = () => {
  const h = mkdtempSync(join(tmpdir(), 'tether-startup-'));
  homes.push(h);
  return h;
};
const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes of pino-pretty
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

type Line = Record<string, unknown> & { msg: string; subsystem?: string };

describe('tether up at start', () => {
  it('logs one JSON line per subsystem (store and why, policy file and rules, harness, URL) when stderr is no terminal', async () => {
    const up = await TetherProcess.start({ NATS_URL: ctx.nats.url, TETHER_HOME: home(), TETHER_LOG_LEVEL: 'info' });
    procs.push(up);
    const lines = await eventually(
      () =>
        up.logs
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Line),
      (ls) => ls.some((l) => l.subsystem === 'http'),
    );
    const of = (s: string) => lines.filter((l) => l.subsystem === s);
    expect(of('store')).toEqual([
      expect.objectContaining({
        store: 'jetstream',
        why: 'NATS_URL is set',
        natsUrl: ctx.nats.url,
        msg: expect.stringMatching(/^store: JetStream at/),
      }),
    ]);
    expect(of('policy')).toEqual([
      expect.objectContaining({
        file: null,
        source: 'built-in',
        trigger: 'start',
        ruleIds: [
          'default-humans-read',
          'default-humans-write-native',
          'default-handoff-to-people',
          'default-handoff-to-agents',
        ],
        msg: expect.stringMatching(/^policy: built-in default \(rules default-humans-read, /),
      }),
    ]);
    expect(of('harness')).toEqual([
      expect.objectContaining({ harness: null, msg: expect.stringMatching(/^harness: no harness configured/) }),
    ]);
    expect(of('http')).toEqual([
      expect.objectContaining({
        url: up.url,
        msg: `http: listening at ${up.url} (commands also on NATS tether.cmd.<entity>.<verb>)`,
      }),
    ]);
    for (const l of lines) expect(l).toMatchObject({ level: expect.any(Number), name: 'tether' });
  });

  it('logs pretty lines under a terminal, with a first step the README gives', async () => {
    const h = home();
    // script(1) gives tether a pty for stdin, stdout and stderr, as a person's terminal would.
    const pty = spawn(
      'script',
      ['-qfec', `${process.execPath} ${TETHER_BIN} up --port 0 --no-supervise`, '/dev/null'],
      {
        env: {
          ...process.env,
          NATS_URL: ctx.nats.url,
          TETHER_HOME: h,
          TETHER_LOG_LEVEL: 'info',
          TETHER_LOG_FORMAT: '',
        },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    ptys.push(pty);
    let out = '';
    pty.stdout!.on('data', (d) => (out += d));
    await eventually(
      () => plain(out),
      (o) => /^ {2}try /m.test(o),
      30_000,
    );
    const text = plain(out);
    expect(text).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(tether\): store: JetStream at nats:\/\/\S+ \(NATS_URL is set\)$/m,
    );
    expect(text).toMatch(/^\[[\d:.]+\] INFO \(tether\): policy: built-in default \(rules default-humans-read, /m);
    expect(text).toMatch(/^\[[\d:.]+\] INFO \(tether\): harness: no harness configured/m);
    expect(text).toMatch(/^\[[\d:.]+\] INFO \(tether\): http: listening at http:\/\/127\.0\.0\.1:\d+/m);
    expect(text).not.toMatch(/^\{"level"/m);
    const hint = /^ {2}try {8}(.+?) {3}/m.exec(text)![1]!;
    expect(README).toContain(hint);
    process.kill(-pty.pid!, 'SIGTERM');
    await eventually(() => pty.exitCode !== null || pty.signalCode !== null, Boolean, 15_000);
  });

  it('TETHER_LOG_FORMAT=pretty gives pretty lines without a terminal, and redacts as JSON does', async () => {
    const up = await TetherProcess.start({
      NATS_URL: ctx.nats.url,
      TETHER_HOME: home(),
      TETHER_LOG_LEVEL: 'info',
      TETHER_LOG_FORMAT: 'pretty',
    });
    procs.push(up);
    await eventually(
      () => plain(up.logs),
      (l) => /http: listening at/.test(l),
    );
    expect(plain(up.logs)).toMatch(/^\[[\d:.]+\] INFO \(tether\): store: JetStream at/m);
    expect(up.logs).not.toMatch(/^\{"level"/m);
    expect(up.logs).not.toContain(up.token);
  });
});
