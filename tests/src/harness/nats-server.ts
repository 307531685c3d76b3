import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort, waitForPort } from '@tether/runtime';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real nats-server with JetStream on a free port and a temp store dir; stop and start keep the data. */
export class NatsServer {
  private proc?: ChildProcess;
  private constructor(readonly port: number, readonly storeDir: string) {}

  get url() {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<NatsServer> {
    const s = new NatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'tether-nats-')));
    await s.restart();
    return s;
  }

  async restart(): Promise<void> {
    if (this.proc) await this.stop();
    const proc = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (d) => (stderr += d));
    const failed = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${stderr.slice(-500)}`))));
    this.proc = proc;
    await Promise.race([waitForPort(this.port), failed]);
    failed.catch(() => undefined);
  }

  /** Stops the server (SIGKILL when `hard`), keeping its store for a restart. */
  async stop(hard = false): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    this.proc = undefined;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(hard ? 'SIGKILL' : 'SIGTERM');
    });
  }

  async dispose(): Promise<void> {
    await this.stop(true);
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
