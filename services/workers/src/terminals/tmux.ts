import { constants } from 'node:os';
import { execa } from 'execa';
import { childEnv } from '@tether/runtime';

/** tmux on a tether-owned socket: sessions live in the tmux server, so they outlive a crash of tether. */
export class Tmux {
  constructor(
    readonly socket: string,
    /** A server this starts reads this file instead of ~/.tmux.conf ("/dev/null": none). */
    private readonly configFile?: string,
  ) {}

  /**
   * One tmux client call; the server it may start passes its environment to every shell, so no secret of
   * tether's is in it. Past `timeout` the client is killed and our ends of its pipes closed (not execa's
   * timeout: the client hands its stdout to the server, so a wedged server keeps the pipe open and the
   * call would never return).
   */
  private async tmux(args: string[], timeout?: number) {
    const config = this.configFile ? ['-f', this.configFile] : [];
    const sub = execa('tmux', [...config, '-S', this.socket, ...args], {
      reject: false,
      env: childEnv(),
      extendEnv: false,
    });
    let timedOut = false;
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            sub.kill('SIGKILL');
            sub.stdout?.destroy();
            sub.stderr?.destroy();
          }, timeout);
    const r = await sub.finally(() => clearTimeout(timer));
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut };
  }

  private async run(args: string[]): Promise<string> {
    // A wedged tmux server must not hang the caller (e.g. a terminal's input queue) for ever.
    const r = await this.tmux(args, 10_000);
    if (r.timedOut) throw new Error(`tmux ${args[0]} did not answer within 10 s`);
    if (r.exitCode !== 0) throw new Error(`tmux ${args[0]} failed: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  /** Any other tmux command on this socket (the task worker lays out its panes with it); throws on failure. */
  command(args: string[]): Promise<string> {
    return this.run(args);
  }

  async hasSession(name: string): Promise<boolean> {
    return (await this.tmux(['has-session', '-t', `=${name}`])).exitCode === 0;
  }

  /**
   * A detached session running the command line `shell` in `cwd` (as tmux's own default-command would,
   * through sh). A small sh wrapper writes the shell's exit status
   * to `statusFile` (tmux's own record of it can lag far behind the pane's death), mode 0600 without
   * narrowing the shell's own umask; the pane stays after exit so both can be read.
   */
  async newSession(
    name: string,
    cwd: string,
    env: Record<string, string>,
    shell: string,
    statusFile: string,
    restore?: { prelude?: string; envFile?: string },
  ): Promise<void> {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    // A respawned terminal's environment comes from a file (0600) the wrapper sources and removes: values
    // on tmux's command line would be readable in /proc by every local user. Its saved scrollback (the
    // prelude) is printed once tether pipes the pane's output (it signals the channel), so the relay and
    // the log get it too; then that file goes.
    const wrapper = [
      'sh',
      '-c',
      'if [ -n "$5" ]; then set -a; . "$5"; set +a; rm -f "$5"; fi; if [ -n "$3" ]; then tmux wait-for "$4"; cat "$3"; rm -f "$3"; fi; eval "$1"; s=$?; (umask 077; printf %s "$s" > "$2"); exit "$s"',
      'tether-shell',
      shell,
      statusFile,
      restore?.prelude ?? '',
      preludeChannel(name),
      restore?.envFile ?? '',
    ];
    await this.run(['new-session', '-d', '-s', name, '-c', cwd, '-x', '200', '-y', '50', ...envArgs, ...wrapper]);
    await this.run(['set-option', '-t', `=${name}:`, 'remain-on-exit', 'on']);
    await this.keepSize(name);
  }

  /**
   * The window keeps its size whoever attaches (`window-size manual`): a human's `tmux attach` in a
   * small terminal no longer shrinks what every viewer sees; only `resize` changes it.
   */
  async keepSize(name: string): Promise<void> {
    await this.run(['set-option', '-w', '-t', `=${name}:`, 'window-size', 'manual']);
  }

  /** Sizes the window (and its one pane) to cols x rows, and records whose size it is (it outlives tether). */
  async resize(name: string, cols: number, rows: number, by: string): Promise<void> {
    await this.sizedBy(name, by);
    await this.run(['resize-window', '-t', `=${name}:`, '-x', String(cols), '-y', String(rows)]);
  }

  /** Records whose size the window has (a participant's name, or "owner"). */
  async sizedBy(name: string, by: string): Promise<void> {
    await this.run(['set-option', '-w', '-t', `=${name}:`, `@${SIZED_BY}`, by]);
  }

  /** The window's size and whose it is (null: nobody resized it since it started). */
  async size(name: string): Promise<{ cols: number; rows: number; by: string | null }> {
    const out = await this.run([
      'display-message',
      '-p',
      '-t',
      `=${name}:`,
      `#{window_width} #{window_height} #{@${SIZED_BY}}`,
    ]);
    const [cols, rows, ...by] = out.replace(/\n$/, '').split(' ');
    if (!Number(cols) || !Number(rows)) throw new Error(`tmux gave no size for ${name}`);
    return { cols: Number(cols), rows: Number(rows), by: by.join(' ') || null };
  }

  /** Lets a session made with a prelude print it (tmux keeps the signal if the pane is not waiting yet). */
  async releasePrelude(name: string): Promise<void> {
    await this.run(['wait-for', '-S', preludeChannel(name)]);
  }

  /** Each session's working directory, as tmux follows its pane (#{pane_current_path}). */
  async currentPaths(): Promise<Map<string, string>> {
    const r = await this.tmux(['list-panes', '-a', '-F', '#{session_name}\t#{pane_current_path}'], 3_000);
    const out = new Map<string, string>();
    if (r.exitCode !== 0) return out;
    for (const line of r.stdout.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab > 0 && line.length > tab + 1) out.set(line.slice(0, tab), line.slice(tab + 1));
    }
    return out;
  }

  /** The pane's size in cells (a recording's header takes it). */
  async paneSize(name: string): Promise<{ width: number; height: number }> {
    const [width, height] = (
      await this.run(['display-message', '-p', '-t', `=${name}:`, '#{pane_width} #{pane_height}'])
    )
      .trim()
      .split(' ')
      .map(Number);
    if (!width || !height) throw new Error(`tmux gave no size for ${name}`);
    return { width, height };
  }

  async panePid(name: string): Promise<number> {
    return Number((await this.run(['display-message', '-p', '-t', `=${name}:`, '#{pane_pid}'])).trim());
  }

  /** Appends everything the pane prints to `file` (tmux keeps doing so while tether is down). */
  async pipeOutput(name: string, file: string): Promise<void> {
    await this.run(['pipe-pane', '-O', '-t', `=${name}:`, `cat >> '${file.replace(/'/g, `'\\''`)}'`]);
  }

  /** Types bytes into the pane exactly (hex, so control characters pass through too). */
  async sendBytes(name: string, bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    await this.run([
      'send-keys',
      '-t',
      `=${name}:`,
      '-H',
      ...Array.from(bytes, (b) => b.toString(16).padStart(2, '0')),
    ]);
  }

  /** Dead panes with their exit status or the signal that ended them, by session name. */
  async deadPanes(): Promise<Map<string, { code: number | null; signal: string | null }>> {
    return (await this.panes()).dead;
  }

  /** One listing of every pane: the dead ones (as deadPanes) and each session's window size. */
  async panes(): Promise<{
    dead: Map<string, { code: number | null; signal: string | null }>;
    sizes: Map<string, { cols: number; rows: number }>;
  }> {
    const r = await this.tmux([
      'list-panes',
      '-a',
      '-F',
      '#{session_name} #{pane_dead} #{pane_dead_status} #{pane_dead_signal} #{window_width} #{window_height}',
    ]);
    const dead = new Map<string, { code: number | null; signal: string | null }>();
    const sizes = new Map<string, { cols: number; rows: number }>();
    if (r.exitCode !== 0) return { dead, sizes };
    for (const line of r.stdout.split('\n')) {
      const [session, isDead, status, signal, cols, rows] = line.split(' ');
      if (!session) continue;
      if (isDead === '1')
        dead.set(session, { code: status ? Number(status) : null, signal: signal ? signalName(Number(signal)) : null });
      if (Number(cols) > 0 && Number(rows) > 0) sizes.set(session, { cols: Number(cols), rows: Number(rows) });
    }
    return { dead, sizes };
  }

  /**
   * The sessions on tether's socket. A listing that fails or does not answer within `timeoutMs` counts
   * as none (no server, or a wedged one): a caller must never act on sessions it could not see.
   */
  async listSessions(timeoutMs = 3_000): Promise<string[]> {
    return (await this.sessionListing(timeoutMs)).sessions;
  }

  /** The session names and the tmux server's pid (tether's own, never an orphan), in one listing as above. */
  async sessionListing(timeoutMs = 3_000): Promise<{ sessions: string[]; serverPid?: number }> {
    const r = await this.tmux(['list-sessions', '-F', '#{pid} #{session_name}'], timeoutMs);
    if (r.timedOut || r.exitCode !== 0) return { sessions: [] };
    const lines = r.stdout.split('\n').filter(Boolean);
    const pid = Number(lines[0]?.split(' ')[0]);
    return { sessions: lines.map((l) => l.slice(l.indexOf(' ') + 1)), ...(pid > 0 ? { serverPid: pid } : {}) };
  }

  async killSession(name: string): Promise<void> {
    await this.tmux(['kill-session', '-t', `=${name}`]);
  }

  async capture(name: string): Promise<string> {
    return this.run(['capture-pane', '-p', '-t', `=${name}:`]);
  }
}

/** The window option (tmux user option) naming who sized the window. */
const SIZED_BY = 'tether_sized_by';

const preludeChannel = (name: string) => `tether-prelude-${name}`;

export const signalName = (n: number) => Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `SIG${n}`;
