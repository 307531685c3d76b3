import { execa } from 'execa';

export interface BoundedRunResult {
  ok: boolean;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** A short client command (tmate display, upterm session current) bounded by `timeoutMs`: a hung server makes it hang. */
export async function runBounded(
  file: string,
  args: string[],
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<BoundedRunResult> {
  const r = await execa(file, args, {
    env,
    reject: false,
    timeout: Math.max(1, timeoutMs),
    forceKillAfterDelay: 500,
    stdin: 'ignore',
  });
  return {
    ok: r.exitCode === 0 && !r.timedOut,
    timedOut: r.timedOut,
    stdout: String(r.stdout ?? '').trim(),
    stderr: String(r.stderr ?? '').trim(),
  };
}

/** Quotes one word for `sh -c`. */
export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The inner client that puts the tether terminal on the sharing backend's screen; read-only for read shares, and never resizing the terminal. */
export function tmuxAttachCommand(tmuxSocket: string, terminalId: string, access: 'read' | 'write'): string {
  const flags = access === 'read' ? ['-r', '-f', 'ignore-size'] : ['-f', 'ignore-size'];
  return [
    'env',
    '-u',
    'TMUX',
    'tmux',
    '-S',
    shQuote(tmuxSocket),
    'attach-session',
    ...flags,
    '-t',
    shQuote(`=${terminalId}`),
  ].join(' ');
}

/** A log tail goes into failure reasons (stream, audit, views): ssh targets and web links of a session are bearer secrets. */
export const redactSessionStrings = (text: string) =>
  text
    .replace(/\bssh(?:\s+-\S+(?:\s+\S+)?)*\s+\S+/gi, 'ssh <redacted>') // `ssh [-p 22] token@host`, however the token is spelled
    .replace(/\S+@\S+/g, '<redacted ssh target>') // a target on a line of its own (upterm wraps long lines)
    .replace(/\b(?:https?|wss?):\/\/\S+/gi, '<redacted link>')
    .replace(/\S*\/t\/\S+/g, '<redacted link>'); // a tmate web link cut off before its scheme
