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

/** A real `tether up` child process; `kill('SIGKILL')` is a crash, not a shutdown. */
export class TetherProcess {
  logs = '';
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
    /** The owner's token, which `tether up` wrote to $TETHER_HOME/credential: the tests' calls send it. */
    readonly token: string,
    readonly home: string,
  ) {}

  static async start(env: Record<string, string>, args: string[] = []): Promise<TetherProcess> {
    const home = env.TETHER_HOME ?? mkdtempSync(join(tmpdir(), 'tether-home-'));
    const proc = spawn(process.execPath, [TETHER_BIN, 'up', '--port', '0', '--json', ...args], {
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
      proc.stdout!.on('data', (d) => {
        out += d;
        try {
          const ready = JSON.parse(out) as { url?: string };
          if (!ready.url) throw new Error(`unexpected output of tether up: ${out}`);
          clearTimeout(timer);
          resolve(ready.url);
        } catch (e) {
          if (!(e instanceof SyntaxError)) reject(e); // else: wait for the whole JSON document
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tether up exited with ${code}: ${err.slice(-2000)}`));
      });
    });
    const t = new TetherProcess(proc, url, readFileSync(join(home, 'credential'), 'utf8').trim(), home);
    proc.stderr!.on('data', (d) => (t.logs += d));
    t.logs = err;
    return t;
  }

  get alive() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await exited;
  }
}
