import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const TETHER_BIN = fileURLToPath(new URL('../../../services/cli/bin/tether.js', import.meta.url));

/** One `tether` CLI command against `t` with its token, as a user would run it (never rejects: check exitCode). */
export const runCli = (t: { url: string; token: string }, args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [TETHER_BIN, ...args], {
    env: { ...process.env, TETHER_URL: t.url, TETHER_TOKEN: t.token, TETHER_LOG_LEVEL: 'warn', ...env },
    reject: false,
    timeout: 60_000,
  });

/** What the server of a `tether up` wrote to $TETHER_HOME/tether.run.json (`url` once it listens). */
export interface RunFile {
  pid: number;
  startedAt: string;
  url?: string;
}

/**
 * A real `tether up` process; `kill('SIGKILL')` is a crash, not a shutdown. By default it runs the server
 * itself (`--no-supervise`), so a kill -9 of `proc` kills the server; with `supervise: true`, `proc` is
 * the supervisor and `server()` says which child serves now.
 */
export class TetherProcess {
  logs = '';
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
    /** The owner's token, which `tether up` wrote to $TETHER_HOME/credential: the tests' calls send it. */
    readonly token: string,
    readonly home: string,
    readonly supervised: boolean,
  ) {}

  static async start(
    env: Record<string, string>,
    args: string[] = [],
    opts: { supervise?: boolean } = {},
  ): Promise<TetherProcess> {
    const home = env.TETHER_HOME ?? mkdtempSync(join(tmpdir(), 'tether-home-'));
    const supervise = opts.supervise ? [] : ['--no-supervise'];
    const proc = spawn(process.execPath, [TETHER_BIN, 'up', '--port', '0', '--json', ...supervise, ...args], {
      env: {
        ...process.env,
        TETHER_LOG_LEVEL: 'warn',
        ...env,
        TETHER_HOME: home,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tether up did not start in 30 s: ${err.slice(-2000)}`)), 30_000);
      const read = (d: Buffer) => {
        out += d;
        try {
          const ready = JSON.parse(out) as { url?: string };
          if (!ready.url) throw new Error(`unexpected output of tether up: ${out}`);
          clearTimeout(timer);
          proc.stdout!.off('data', read).resume(); // a restarted server prints its own document: not read
          resolve(ready.url);
        } catch (e) {
          if (!(e instanceof SyntaxError)) reject(e); // else: wait for the whole JSON document
        }
      };
      proc.stdout!.on('data', read);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tether up exited with ${code}: ${err.slice(-2000)}`));
      });
    });
    const t = new TetherProcess(
      proc,
      url,
      readFileSync(join(home, 'credential'), 'utf8').trim(),
      home,
      Boolean(opts.supervise),
    );
    proc.stderr!.on('data', (d) => (t.logs += d));
    t.logs = err;
    return t;
  }

  get alive() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The server now running on this home (for a supervised one: its current child), from its run file. */
  server(): RunFile | undefined {
    try {
      return JSON.parse(readFileSync(join(this.home, 'tether.run.json'), 'utf8')) as RunFile;
    } catch {
      return undefined; // between two servers, or half-written
    }
  }

  /** Signals `proc`; a supervisor passes SIGINT/SIGTERM on, but a SIGKILL of it would leave its server: that goes too. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const server = this.supervised && signal === 'SIGKILL' ? this.server()?.pid : undefined;
    if (this.alive) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill(signal);
      await exited;
    }
    if (server && server !== this.proc.pid && isTetherUp(server)) process.kill(server, 'SIGKILL');
  }
}

/** A live `tether up` (not a pid reused by something else since). */
function isTetherUp(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(TETHER_BIN);
  } catch {
    return false;
  }
}
