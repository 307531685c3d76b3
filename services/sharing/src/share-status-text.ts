import { participantMayType, type ShareContext } from '@tether/machines';

/** A share as its events say (state value and context): what the status line is computed from. */
export interface SharedState {
  value: unknown;
  context: ShareContext;
}

export interface StatusTextOptions {
  /** Now, in ms: which write grants still hold. */
  now: number;
  /**
   * tmux's clock in the countdown: `%s` (strftime, expanded by tmux every time it draws the status line).
   * Tests pass a fixed epoch second to read a countdown at a known instant.
   */
  clock?: string;
}

/** Names longer than this are cut: the status line is one short row. */
const NAME_CHARS = 16;
/** Writers named before "+N". */
const NAMED_WRITERS = 2;

const started = (s: SharedState) => s.value === 'active' || s.value === 'expiring';

/**
 * What the terminal's tmux status line (status-right) shows while it is shared, like tmate's bar:
 * that it is shared (how many shares, which backends), how many people watch, who may type, and the
 * time left, e.g. `[tether] shared x2 (native, tmate) | 3+ watching | bob may type | 12:34 left`.
 * The result is a tmux format; undefined when no share of the terminal has started (or all ended).
 *
 * tmate and upterm do not tell tether who is connected, so their viewers are `viewers ?` (or `N+`
 * beside native shares), never a made-up number. The time left is the soonest share's, counted
 * down by tmux itself (see countdown).
 */
export function shareStatusText(shares: readonly SharedState[], opts: StatusTextOptions): string | undefined {
  const live = shares.filter(started);
  if (live.length === 0) return undefined;
  const backends = [...new Set(live.map((s) => s.context.backend))].sort();
  const native = live.filter((s) => s.context.backend === 'native');
  const unknownViewers = native.length < live.length;

  const head = `shared${live.length > 1 ? ` x${live.length}` : ''}${
    backends.length === 1 && backends[0] === 'native' ? '' : ` (${backends.join(', ')})`
  }`;

  const watching = native.reduce(
    (n, s) => n + Object.values(s.context.participants).filter((p) => !p.kicked && p.connections > 0).length,
    0,
  );
  const viewers = native.length === 0 ? 'viewers ?' : unknownViewers ? `${watching}+ watching` : `${watching} watching`;

  const typists = [
    ...new Set(
      native.flatMap((s) =>
        Object.entries(s.context.participants)
          .filter(([id]) => participantMayType(s.value, s.context, id, opts.now))
          .map(([, p]) => label(p.name)),
      ),
    ),
  ];
  // A tmate/upterm write share lets whoever holds its read-write link type: tether cannot name them.
  if (live.some((s) => s.context.backend !== 'native' && s.context.access === 'write')) typists.push('rw link');
  const writers =
    typists.length === 0
      ? 'read-only'
      : `${typists.slice(0, NAMED_WRITERS).join(', ')}${
          typists.length > NAMED_WRITERS ? ` +${typists.length - NAMED_WRITERS}` : ''
        } may type`;

  const soonest = live
    .filter((s) => s.context.expiresAt)
    .sort((a, b) => Date.parse(a.context.expiresAt!) - Date.parse(b.context.expiresAt!))[0];
  const time = soonest
    ? `${soonest.value === 'expiring' ? 'only ' : ''}${countdown(soonest.context.expiresAt!, opts.clock ?? '%s')} left`
    : undefined;

  return [`[tether] ${head}`, viewers, writers, ...(time ? [time] : [])].join(' | ');
}

/** A participant's name as plain text in a tmux format: no control characters, `#` and `%` (strftime) escaped. */
function label(name: string): string {
  const plain = name.replace(/[\p{Cc}\p{Cf}]/gu, '').trim() || '?';
  const cut = plain.length > NAME_CHARS ? `${plain.slice(0, NAME_CHARS - 1)}~` : plain;
  return cut.replace(/#/g, '##').replace(/%/g, '%%');
}

/**
 * The time until `expiresAt` as m:ss (h:mm:ss from an hour), 0:00 once past, as a tmux format that
 * tmux evaluates each time it draws the status line (status-interval 1): `clock` is `%s`, which tmux's
 * strftime turns into the epoch second before it evaluates the arithmetic (`#{e|…}`, tmux ≥ 3.2). Why
 * tmux counts rather than a timer of ours re-setting the text every second: no timer per terminal to
 * arm, cancel and recover after a restart, no tmux call per terminal per second, and the count goes on
 * exactly even while tether is busy or restarting; tether sets the text only when a share changes.
 * `%%` is strftime's escape for tmux's modulo operator.
 */
export function countdown(expiresAt: string, clock: string): string {
  const left = `#{e|-:${Math.floor(Date.parse(expiresAt) / 1000)},${clock}}`;
  const pad = (n: string) => `#{?#{e|<:${n},10},0,}${n}`;
  const seconds = pad(`#{e|%%:${left},60}`);
  const mmss = `#{e|/:${left},60}:${seconds}`;
  const hmmss = `#{e|/:${left},3600}:${pad(`#{e|%%:#{e|/:${left},60},60}`)}:${seconds}`;
  return `#{?#{e|<:${left},1},0:00,#{?#{e|<:${left},3600},${mmss},${hmmss}}}`;
}
