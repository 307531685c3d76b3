import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort, waitForPort } from '@tether/runtime';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** More command-line flags (cluster nodes: --server_name, --cluster, --routes). */
  args?: string[];
  /** A config file (`-c`), e.g. infra/nats/roles.conf; the flags above (address, port, store) override its values. */
  config?: string;
  /** Variables the config reads ($TETHER_NATS_PASSWORD …), added to this process's environment. */
  env?: Record<string, string>;
}

/** A real nats-server with JetStream on a free port and a temp store dir; stop and start keep the data. */
export class NatsServer {
  private proc?: ChildProcess;
  private readonly extraArgs: string[];
  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly opts: NatsServerOptions = {},
  ) {
    this.extraArgs = [...(opts.config ? ['-c', opts.config] : []), ...(opts.args ?? [])];
  }

  get url() {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The --server_name it was started with (cluster nodes have one). */
  get name(): string | undefined {
    const i = this.extraArgs.indexOf('--server_name');
    return i >= 0 ? this.extraArgs[i + 1] : undefined;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const s = new NatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'tether-nats-')), opts);
    await s.restart();
    return s;
  }

  async restart(): Promise<void> {
    if (this.proc) await this.stop();
    const proc = spawn(
      process.env.NATS_SERVER_BIN ?? 'nats-server',
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, ...this.extraArgs],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...this.opts.env } },
    );
    let stderr = '';
    proc.stderr?.on('data', (d) => (stderr += d));
    const failed = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${stderr.slice(-500)}`))),
    );
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

/** Three nats-servers routed into one JetStream cluster, each with its own store. */
export class NatsCluster {
  private constructor(readonly nodes: NatsServer[]) {}

  get url() {
    return this.nodes.map((n) => n.url).join(',');
  }

  static async start(size = 3): Promise<NatsCluster> {
    const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
    const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
    const nodes = await Promise.all(
      routePorts.map((p, i) =>
        NatsServer.start({
          args: [
            '--server_name',
            `n${i + 1}`,
            '--cluster_name',
            'tether',
            '--cluster',
            `nats://127.0.0.1:${p}`,
            '--routes',
            routes,
          ],
        }),
      ),
    );
    return new NatsCluster(nodes);
  }

  async dispose() {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
