import type { Tmux } from './tmux.ts';

/** The session options a status shown by tether sets; what the session had set itself is kept and put back. */
const OPTIONS = ['status', 'status-interval', 'status-right-length', 'status-right'] as const;
/** Wide enough for the longest status tether writes (three backends, two names cut at 16 characters, h:mm:ss). */
const RIGHT_LENGTH = '160';
/** Where the session's own values wait (a tmux user option: kept with the session, across tether restarts). */
const SAVED = '@tether-status-saved';

type Saved = Record<(typeof OPTIONS)[number], string | null>;

/**
 * Shows `format` (a tmux format) as the right side of a tmux session's status line, redrawn every
 * second (a countdown in it moves on), or with `format` undefined puts back what the session showed
 * before. The session's own option values (or that it had none, inheriting the global ones) are saved
 * in the session the first time, so a restore is exact even after tether restarted in between.
 */
export async function showStatusLine(tmux: Tmux, session: string, format: string | undefined): Promise<void> {
  const target = `=${session}:`;
  const saved = await tmux.command(['show-options', '-q', '-v', '-t', target, SAVED]);
  if (format === undefined) {
    if (!saved) return; // tether shows nothing here
    const before = JSON.parse(saved) as Saved;
    for (const opt of OPTIONS) {
      const v = before[opt];
      await tmux.command(
        v === null ? ['set-option', '-u', '-t', target, opt] : ['set-option', '-t', target, opt, arg(v)],
      );
    }
    await tmux.command(['set-option', '-u', '-t', target, SAVED]);
    return;
  }
  if (!saved) {
    const before = {} as Saved;
    for (const opt of OPTIONS) before[opt] = await localValue(tmux, target, opt);
    await tmux.command(['set-option', '-t', target, SAVED, JSON.stringify(before)]);
  }
  await tmux.command([
    ...['set-option', '-t', target, 'status', 'on', ';'],
    ...['set-option', '-t', target, 'status-interval', '1', ';'],
    ...['set-option', '-t', target, 'status-right-length', RIGHT_LENGTH, ';'],
    ...['set-option', '-t', target, 'status-right', arg(format)],
  ]);
}

/** The option's value set on the session itself; null when it inherits the global one. */
async function localValue(tmux: Tmux, target: string, opt: string): Promise<string | null> {
  if (!(await tmux.command(['show-options', '-t', target, opt])).trim()) return null;
  return tmux.command(['show-options', '-v', '-t', target, opt]);
}

/** tmux reads an argument that ends in `;` as a command separator: `\;` keeps it a literal semicolon. */
const arg = (v: string) => (v.endsWith(';') ? `${v.slice(0, -1)}\\;` : v);
