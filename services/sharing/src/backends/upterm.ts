import type { TetherConfig } from '@tether/contracts';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
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

export interface UptermOptions {
  /** Binary name on PATH or a path; default 'upterm'. */
  bin?: string;
  /** uptermd address, e.g. ssh://uptermd.example.com:22; upterm's own default when unset. */
  server?: string;
  /** known_hosts file holding the server's host key: headless, upterm cannot ask whether to trust it. */
  knownHosts?: string;
}

export function uptermOptions(config: TetherConfig): UptermOptions {
  return {
    bin: config.TETHER_UPTERM_BIN,
    server: config.TETHER_UPTERM_SERVER,
    knownHosts: config.TETHER_UPTERM_KNOWN_HOSTS,
  };
}

/**
 * The ssh command in `upterm session current` output: older releases print `SSH Session:`, newer
 * ones `➤ SSH Command:` and hard-wrap long values onto indented lines (glued back without spaces).
 * (`-o json` exists in newer releases but carries no ssh command.)
 */
export function uptermSshCommand(table: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes, which start with ESC
  const lines = table.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n');
  const at = lines.findIndex((l) => /SSH (?:Session|Command):/.test(l));
  if (at < 0) return undefined;
  let value = lines[at]!.replace(/^.*SSH (?:Session|Command):/, '').trim();
  for (const next of lines.slice(at + 1)) {
    if (!/^\s+\S/.test(next) || /^\s*[^\s:]+(?: [^\s:]+)*:(?:\s|$)/.test(next)) break;
    value += next.trim();
  }
  return value.startsWith('ssh ') ? value : undefined;
}

/** Shares a tether terminal through upterm: `upterm host` runs a tmux client attached to the terminal. */
export class UptermAdapter implements ShareBackendAdapter {
  readonly name = 'upterm' as const;
  private readonly bin: string;

  constructor(private readonly opts: UptermOptions = {}) {
    this.bin = opts.bin ?? 'upterm';
  }

  async check(): Promise<void> {
    if (!findExecutable(this.bin)) {
      const where = this.bin.includes('/')
        ? `"${this.bin}" is not an executable file`
        : `looked for "${this.bin}" on PATH`;
      throw backendUnavailable(
        `upterm is not installed (${where}); install it from https://github.com/owenthereal/upterm/releases or set TETHER_UPTERM_BIN`,
      );
    }
  }

  async start(spec: BackendStartSpec): Promise<RunningShareWorker> {
    await this.check();
    const adminFile = join(spec.workDir, 'admin-socket');
    const { server, knownHosts } = this.opts;
    return launchWorker(spec, {
      what: 'upterm',
      bin: this.bin,
      command: () => {
        rmSync(adminFile, { force: true });
        // the hosted command tells us where upterm's admin socket is, then becomes the tmux client (upterm runs
        // it only once its tunnel is up, so a start that never gets ready never attaches to the terminal)
        const hosted = `printf %s "$UPTERM_ADMIN_SOCKET" > ${shQuote(adminFile)}; exec ${tmuxAttachCommand(spec.tmuxSocket, spec.terminalId, spec.access)}`;
        const flags = [
          '--accept',
          ...(spec.access === 'read' ? ['--read-only'] : []),
          ...(server ? ['--server', server] : []),
          ...(knownHosts ? ['--known-hosts', knownHosts] : []),
        ];
        // stdin: a pipe never written to; upterm ends at EOF on stdin, and needs no tty when stdin is not one
        return { args: ['host', ...flags, '--', 'sh', '-c', hosted], stdin: 'pipe' };
      },
      ready: async (group, deadline) => {
        const admin = await this.adminSocket(
          group,
          adminFile,
          deadline,
          spec.readyTimeoutMs || DEFAULT_READY_TIMEOUT_MS,
        );
        const probeArgs = ['session', 'current', '--admin-socket', admin];
        const ssh = await this.sshCommand(group, probeArgs, deadline, spec.readyTimeoutMs || DEFAULT_READY_TIMEOUT_MS);
        const links: ShareLinks = spec.access === 'read' ? { ssh_ro: ssh } : { ssh_rw: ssh };
        return { links, probeArgs };
      },
    });
  }

  private notReady(group: ProcessGroup, timeoutMs: number, step: string) {
    const said = group.logTail(2);
    return backendNotReady(
      `upterm did not ${step} within ${+(timeoutMs / 1000).toFixed(1)} s from ${this.opts.server ?? "upterm's default server"}; check TETHER_UPTERM_SERVER and that the server's host key is in known_hosts (TETHER_UPTERM_KNOWN_HOSTS)${said ? ` (upterm said: ${said})` : ''}`,
    );
  }

  /** The hosted command writes the admin socket path once upterm runs it. */
  private adminSocket(group: ProcessGroup, file: string, deadline: number, timeoutMs: number): Promise<string> {
    return untilReady(
      group,
      'upterm',
      deadline,
      () => this.notReady(group, timeoutMs, 'start its session'),
      async () => readIfThere(file) || undefined,
      25,
    );
  }

  private sshCommand(group: ProcessGroup, probeArgs: string[], deadline: number, timeoutMs: number): Promise<string> {
    return untilReady(
      group,
      'upterm',
      deadline,
      () => this.notReady(group, timeoutMs, 'give an ssh link'),
      async (left) => {
        const r = await runBounded(this.bin, probeArgs, left);
        return r.ok ? uptermSshCommand(r.stdout) : undefined;
      },
      100,
    );
  }
}

function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
