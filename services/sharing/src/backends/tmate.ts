import type { TetherConfig } from '@tether/contracts';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  backendFailed,
  backendNotReady,
  backendUnavailable,
  DEFAULT_READY_TIMEOUT_MS,
  findExecutable,
  launchWorker,
  type BackendStartSpec,
  type RunningShareWorker,
  type ShareBackendAdapter,
  type ShareLinks,
  untilReady,
} from './backend.ts';
import type { ProcessGroup } from '@tether/runtime';
import { runBounded, shQuote, tmuxAttachCommand } from './backend-commands.ts';

export interface TmateOptions {
  /** Binary name on PATH or a path; default 'tmate'. */
  bin?: string;
  /** The self-hosted tmate-ssh-server (the public tmate.io relay is retired). */
  serverHost?: string;
  serverPort?: number;
  rsaFingerprint?: string;
  ed25519Fingerprint?: string;
  /** The setting(s) that name the relay, for messages (default TETHER_TMATE_HOST/PORT). */
  hostSetting?: string;
}

export function tmateOptions(config: TetherConfig): TmateOptions {
  return {
    bin: config.TETHER_TMATE_BIN,
    serverHost: config.TETHER_TMATE_HOST,
    serverPort: config.TETHER_TMATE_PORT,
    rsaFingerprint: config.TETHER_TMATE_RSA_FINGERPRINT,
    ed25519Fingerprint: config.TETHER_TMATE_ED25519_FINGERPRINT,
  };
}

/**
 * tmate for live sessions: TETHER_LIVE_RELAY_HOST (host or host:port) instead of TETHER_TMATE_HOST
 * when set; the key fingerprints and the binary are tmate's own settings.
 */
export function liveTmateOptions(config: TetherConfig): TmateOptions {
  const base = tmateOptions(config);
  const relay = config.TETHER_LIVE_RELAY_HOST;
  if (!relay) return { ...base, hostSetting: 'TETHER_LIVE_RELAY_HOST (or TETHER_TMATE_HOST/PORT)' };
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(relay)!;
  return {
    ...base,
    serverHost: m[1],
    serverPort: m[2] ? Number(m[2]) : base.serverPort,
    hostSetting: 'TETHER_LIVE_RELAY_HOST',
  };
}

/** tmux wait-for channel on which the pane waits before attaching to the terminal. */
const ATTACH = 'tether-attach';

const LINKS = { ssh_ro: 'tmate_ssh_ro', web_ro: 'tmate_web_ro', ssh_rw: 'tmate_ssh', web_rw: 'tmate_web' } as const;

/** Shares a tether terminal through tmate: a foreground tmate server whose only pane is a tmux client attached to the terminal. */
export class TmateAdapter implements ShareBackendAdapter {
  readonly name = 'tmate' as const;
  private readonly bin: string;

  constructor(private readonly opts: TmateOptions = {}) {
    this.bin = opts.bin ?? 'tmate';
  }

  private get port(): number {
    return this.opts.serverPort ?? 22;
  }

  async check(): Promise<void> {
    const { serverHost, rsaFingerprint, ed25519Fingerprint } = this.opts;
    if (!findExecutable(this.bin)) {
      throw backendUnavailable(
        `tmate is not installed (looked for "${this.bin}"${this.bin.includes('/') ? '' : ' on PATH'}); install the tmate package (apt-get install tmate) or set TETHER_TMATE_BIN`,
      );
    }
    if (!serverHost) {
      throw backendUnavailable(
        `tmate needs a self-hosted tmate-ssh-server (the public tmate.io relay is retired): set ${this.opts.hostSetting ?? 'TETHER_TMATE_HOST (and TETHER_TMATE_PORT'}, TETHER_TMATE_RSA_FINGERPRINT or TETHER_TMATE_ED25519_FINGERPRINT${this.opts.hostSetting ? '' : ')'}`,
      );
    }
    if (!rsaFingerprint && !ed25519Fingerprint) {
      throw backendUnavailable(
        `tmate cannot verify the relay ${serverHost} without its key fingerprint: set TETHER_TMATE_ED25519_FINGERPRINT or TETHER_TMATE_RSA_FINGERPRINT (as printed by tmate-ssh-server, e.g. SHA256:…)`,
      );
    }
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535)
      throw backendUnavailable(`TETHER_TMATE_PORT must be a port number, not "${this.opts.serverPort}"`);
    for (const v of [serverHost, rsaFingerprint, ed25519Fingerprint]) {
      if (v && /['\n\r]/.test(v))
        throw backendUnavailable(`tmate setting ${JSON.stringify(v)} contains a quote or newline`);
    }
  }

  async start(spec: BackendStartSpec): Promise<RunningShareWorker> {
    await this.check();
    const sock = join(spec.workDir, 'tmate.sock');
    return launchWorker(spec, {
      what: 'tmate',
      bin: this.bin,
      command: () => {
        const conf = join(spec.workDir, 'tmate.conf');
        writeFileSync(conf, this.config());
        const session = `share-${spec.shareId}`.replace(/[^A-Za-z0-9_-]/g, '_'); // tmux session names cannot hold ':' or '.'
        // -F: foreground server without a client of its own. Its one pane becomes a tmux client of the
        // tether terminal only once tmate is ready: a sole client sizes the terminal (ignore-size does not
        // apply then), and a failed start must leave the terminal exactly as it was.
        const pane = `${shQuote(findExecutable(this.bin) ?? this.bin)} -S ${shQuote(sock)} wait-for ${ATTACH} && exec ${tmuxAttachCommand(spec.tmuxSocket, spec.terminalId, spec.access)}`;
        return { args: ['-S', sock, '-f', conf, '-F', 'new-session', '-s', session, pane] };
      },
      ready: async (group, deadline) => {
        await this.waitReady(group, sock, deadline, spec.readyTimeoutMs || DEFAULT_READY_TIMEOUT_MS);
        const links = await this.links(sock, spec.access, deadline);
        const attach = await runBounded(
          this.bin,
          ['-S', sock, 'wait-for', '-S', ATTACH],
          Math.max(deadline - Date.now(), 2_000),
        );
        if (!attach.ok)
          throw backendFailed(
            `tmate is ready but its pane could not be told to attach: ${attach.timedOut ? 'no answer' : attach.stderr || 'no output'}`,
          );
        return { links, probeArgs: ['-S', sock, 'display', '-p', '#{session_name}'] };
      },
    });
  }

  private config(): string {
    const o = this.opts;
    const lines = [`set -g tmate-server-host '${o.serverHost}'`, `set -g tmate-server-port ${this.port}`];
    if (o.rsaFingerprint) lines.push(`set -g tmate-server-rsa-fingerprint '${o.rsaFingerprint}'`);
    if (o.ed25519Fingerprint) lines.push(`set -g tmate-server-ed25519-fingerprint '${o.ed25519Fingerprint}'`);
    lines.push(
      '# the worker ends when its tmux client does (terminal gone), instead of respawning it',
      'set -g tmate-foreground-restart 0',
      '# viewers see the tether terminal, not a tmate status line',
      'set -g status off',
    );
    return `${lines.join('\n')}\n`;
  }

  /** `tmate wait tmate-ready` never times out by itself (no relay = never ready), so every wait is bounded by the deadline. */
  private async waitReady(group: ProcessGroup, sock: string, deadline: number, timeoutMs: number): Promise<void> {
    const notReady = () => {
      const said = group.logTail(2);
      return backendNotReady(
        `tmate could not reach its relay ${this.opts.serverHost}:${this.port} within ${+(timeoutMs / 1000).toFixed(1)} s; check ${this.opts.hostSetting ?? 'TETHER_TMATE_HOST/PORT'} and that tmate-ssh-server runs${said ? ` (tmate said: ${said})` : ''}`,
      );
    };
    await untilReady(group, 'tmate', deadline, notReady, async (left) => {
      if (!existsSync(sock)) return undefined; // the server is not listening yet
      return (await runBounded(this.bin, ['-S', sock, 'wait', 'tmate-ready'], left)).ok || undefined;
    });
  }

  /** Only the read-only links for a read share: the read-write ones are never even read. */
  private async links(sock: string, access: 'read' | 'write', deadline: number): Promise<ShareLinks> {
    const keys = (
      access === 'read' ? ['ssh_ro', 'web_ro'] : ['ssh_ro', 'web_ro', 'ssh_rw', 'web_rw']
    ) as (keyof typeof LINKS)[];
    const values = await Promise.all(
      keys.map(async (k) => {
        const r = await runBounded(
          this.bin,
          ['-S', sock, 'display', '-p', `#{${LINKS[k]}}`],
          Math.max(deadline - Date.now(), 2_000),
        );
        if (!r.ok)
          throw backendFailed(
            `tmate is ready but did not tell its ${k} link: ${r.timedOut ? 'no answer' : r.stderr || 'no output'}`,
          );
        return [k, r.stdout] as const;
      }),
    );
    const links: ShareLinks = Object.fromEntries(values.filter(([, v]) => v !== ''));
    if (!links.ssh_ro) throw backendFailed('tmate is ready but gave no read-only ssh link');
    return links;
  }
}
