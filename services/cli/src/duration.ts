import { TetherError } from '@tether/contracts/tether-error';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration flag's value: "90s", "15m", "2h", "30d" (or "500ms"). A number without a unit is refused, not read
 * as milliseconds: `--ttl 10` meaning 10 ms surprised everyone who typed it.
 */
export function parseDuration(text: string, flag = '--ttl'): number {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed))
    throw new TetherError('INVALID_COMMAND', `${flag} ${trimmed} has no unit; write ${trimmed}m, 90s or 1h`);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(trimmed);
  if (!m)
    throw new TetherError(
      'INVALID_COMMAND',
      `${flag} "${text}" is not a duration; write a number and a unit (ms, s, m, h, d), e.g. 90s, 15m, 2h, 30d`,
    );
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
  if (ms <= 0)
    throw new TetherError('INVALID_COMMAND', `${flag} ${trimmed} is no time at all; write e.g. 90s, 15m or 1h`);
  return ms;
}
