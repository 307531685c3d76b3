import { TetherError } from '@tether/contracts/tether-error';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "90s", "15m", "2h", "30d" or plain milliseconds, as flags take them. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new TetherError('INVALID_COMMAND', `"${text}" is not a duration; use e.g. 90s, 15m, 2h, 30d`);
  return Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS]);
}
