import { execa } from 'execa';

/** tmux on a tether-owned socket: sessions live in the tmux server, so they outlive a crash of tether. */
export class Tmux {
  constructor(readonly socket: string) {}

  private async run(args: string[]): Promise<string> {
    const r = await execa('tmux', ['-S', this.socket, ...args], { reject: false });
    if (r.exitCode !== 0) throw new Error(`tmux ${args[0]} failed: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  async hasSession(name: string): Promise<boolean> {
    return (await execa('tmux', ['-S', this.socket, 'has-session', '-t', `=${name}`], { reject: false })).exitCode === 0;
  }

  /** A detached session running `shell` in `cwd`; the pane stays after exit so its status can be read. */
  async newSession(name: string, cwd: string, env: Record<string, string>, shell: string): Promise<void> {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    await this.run(['new-session', '-d', '-s', name, '-c', cwd, '-x', '200', '-y', '50', ...envArgs, shell]);
    await this.run(['set-option', '-t', `=${name}:`, 'remain-on-exit', 'on']);
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
    await this.run(['send-keys', '-t', `=${name}:`, '-H', ...Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))]);
  }

  /** Dead panes and their exit status, by session name. */
  async deadPanes(): Promise<Map<string, number | null>> {
    const r = await execa('tmux', ['-S', this.socket, 'list-panes', '-a', '-F', '#{session_name} #{pane_dead} #{pane_dead_status}'], { reject: false });
    const dead = new Map<string, number | null>();
    if (r.exitCode !== 0) return dead;
    for (const line of r.stdout.split('\n')) {
      const [session, isDead, status] = line.split(' ');
      if (session && isDead === '1') dead.set(session, status ? Number(status) : null);
    }
    return dead;
  }

  async killSession(name: string): Promise<void> {
    await execa('tmux', ['-S', this.socket, 'kill-session', '-t', `=${name}`], { reject: false });
  }

  async capture(name: string): Promise<string> {
    return this.run(['capture-pane', '-p', '-t', `=${name}:`]);
  }
}
