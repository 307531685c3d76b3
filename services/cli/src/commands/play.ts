import { TetherError } from '@tether/contracts/tether-error';
import { callText } from '../http.ts';
import type { Flags } from '../command-shapes.ts';
import type { Out } from '../output.ts';

/** Idle gaps longer than this are shortened to it (asciinema's idle time limit). */
export const IDLE_LIMIT_S = 2;

/** --speed: a positive number (2 plays twice as fast, 0.5 at half speed). */
export function parseSpeed(raw: unknown): number {
  if (raw === undefined) return 1;
  const speed = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(speed) || speed <= 0)
    throw new TetherError(
      'INVALID_COMMAND',
      `--speed must be a positive number (e.g. 2 for twice as fast, 0.5 for half speed), not ${JSON.stringify(raw)}`,
    );
  return speed;
}

type Line = [number, string, string];

/** The recording's output lines, in order; a body that is not asciicast v2 is an error that says so. */
export function parseRecording(text: string, name: string): { width: number; height: number; lines: Line[] } {
  try {
    const rows = text.split('\n').filter((l) => l.length > 0);
    const header = JSON.parse(rows[0] ?? '') as { version?: number; width: number; height: number };
    if (header.version !== 2) throw new Error(`its header says version ${String(header.version)}`);
    const lines = rows.slice(1).map((r) => JSON.parse(r) as Line);
    return { width: header.width, height: header.height, lines: lines.filter((l) => l[1] === 'o') };
  } catch (err) {
    throw new TetherError('INTERNAL', `the recording of ${name} is not asciicast v2: ${(err as Error).message}`);
  }
}

/** When each line is printed, from the start of playing (ms): gaps capped at the idle limit, divided by the speed. */
export function schedule(lines: Line[], speed: number): number[] {
  let at = 0;
  let prev = 0;
  return lines.map(([t]) => {
    at += Math.min(Math.max(0, t - prev), IDLE_LIMIT_S);
    prev = t;
    return (at * 1000) / speed;
  });
}

/** Whether the output leaves the terminal in the alternate screen (a full-screen program still open at the end). */
const ALT = new RegExp(`${String.fromCharCode(27)}\\[\\?(?:1049|1047|47)([hl])`, 'g');
function endsInAltScreen(lines: Line[]): boolean {
  let alt = false;
  for (const [, , data] of lines) for (const m of data.matchAll(ALT)) alt = m[1] === 'h';
  return alt;
}

/**
 * `tether play <task-run|terminal> [--speed N]`: the recording printed with its timing; the terminal is
 * put back (attributes, cursor, main screen) at the end or on Ctrl-C.
 */
export async function play(out: Out, name: string | undefined, flags: Flags): Promise<number> {
  if (!name) throw new TetherError('INVALID_COMMAND', 'usage: tether play <task-run|terminal> [--speed N]');
  const speed = parseSpeed(flags.speed);
  const { width, height, lines } = parseRecording(await callText(`/v1/recordings/${encodeURIComponent(name)}`), name);
  const stdout = process.stdout;
  if (!out.json && stdout.isTTY && (stdout.columns < width || stdout.rows < height))
    process.stderr.write(
      `[tether] recorded at ${width}x${height}; this terminal is ${stdout.columns}x${stdout.rows}\n`,
    );
  const restore = `\x1b[0m\x1b[?25h${endsInAltScreen(lines) ? '\x1b[?1049l' : ''}`;
  const at = schedule(lines, speed);
  const start = Date.now();
  let stopped = false;
  const interrupt = () => {
    stopped = true;
  };
  process.once('SIGINT', interrupt);
  try {
    for (let i = 0; i < lines.length && !stopped; i++) {
      const wait = at[i]! - (Date.now() - start);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopped) break;
      if (!stdout.write(lines[i]![2])) await new Promise((r) => stdout.once('drain', r));
    }
  } finally {
    process.off('SIGINT', interrupt);
    stdout.write(restore);
  }
  return stopped ? 130 : 0;
}
