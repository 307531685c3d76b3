import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it('reads a number with its unit', () => {
    expect([parseDuration('500ms'), parseDuration('90s'), parseDuration('15m'), parseDuration('1.5h')]).toEqual([
      500, 90_000, 900_000, 5_400_000,
    ]);
    expect(parseDuration('30d', '--ttl')).toBe(2_592_000_000);
  });

  it('refuses a number without a unit, saying what to write, and anything that is no duration', () => {
    expect(() => parseDuration('10')).toThrow('--ttl 10 has no unit; write 10m, 90s or 1h');
    expect(() => parseDuration('10', '--for')).toThrow('--for 10 has no unit');
    expect(() => parseDuration('soon')).toThrow('--ttl "soon" is not a duration; write a number and a unit');
    expect(() => parseDuration('0m')).toThrow('--ttl 0m is no time at all');
  });
});
