import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TetherError } from '../errors.ts';
import { README_PATH, withSettingsTable } from './docs.ts';
import { formatDuration, parseConfig, readConfig, settings } from './settings.ts';

const refused = (env: Record<string, string>) => {
  try {
    parseConfig(env);
  } catch (err) {
    return err as TetherError;
  }
  throw new Error('parseConfig accepted a bad environment');
};

describe('settings', () => {
  it('applies every default when the environment sets nothing', () => {
    const { config, sources } = parseConfig({ USER: 'ann' });
    expect(config).toMatchObject({
      TETHER_PORT: 7420,
      TETHER_URL: 'http://127.0.0.1:7420',
      TETHER_HOME: '.tether',
      TETHER_SHARE_TTL_MS: 1_800_000,
      TETHER_NO_CHILD_NATS: false,
    });
    expect([config.NATS_URL, config.TETHER_SHARE_POLICY, config.TETHER_WORKSPACES]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(new Set(Object.values(sources))).toEqual(new Set(['default']));
  });

  it('parses numbers and durations from the environment and says so', () => {
    const env = { TETHER_PORT: '0', TETHER_SHARE_WARN_MS: '90s', TETHER_SHARE_TTL_MS: '1h', TETHER_NO_CHILD_NATS: '1' };
    const { config, sources } = parseConfig(env);
    expect(config).toMatchObject({
      TETHER_PORT: 0,
      TETHER_URL: 'http://127.0.0.1:0',
      TETHER_SHARE_WARN_MS: 90_000,
      TETHER_SHARE_TTL_MS: 3_600_000,
      TETHER_NO_CHILD_NATS: true,
    });
    expect([sources.TETHER_PORT, sources.TETHER_URL, sources.TETHER_HOME]).toEqual(['env', 'default', 'default']);
  });

  it('treats an empty text as unset (NATS_URL= means no NATS)', () => {
    const { config, sources } = parseConfig({ NATS_URL: '', TETHER_HARNESS_URL: '' });
    expect([config.NATS_URL, config.TETHER_HARNESS_URL, sources.NATS_URL]).toEqual([undefined, undefined, 'default']);
  });

  it('refuses every bad number at once, naming the variable, the value and what to set', () => {
    const err = refused({
      TETHER_SHARE_READY_MS: 'abc',
      TETHER_HARNESS_CHECK_MS: '',
      TETHER_SESSION_HEARTBEAT_MS: '-5',
      TETHER_PORT: '70000',
      TETHER_NO_CHILD_NATS: 'maybe',
    });
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.issues?.map((i) => i.path[0]).sort()).toEqual([
      'TETHER_HARNESS_CHECK_MS',
      'TETHER_NO_CHILD_NATS',
      'TETHER_PORT',
      'TETHER_SESSION_HEARTBEAT_MS',
      'TETHER_SHARE_READY_MS',
    ]);
    expect(err.message).toContain(
      'TETHER_SHARE_READY_MS="abc": not a duration; set a whole number of milliseconds (e.g. 10000) or one with a unit (90s, 5m, 1h), at least 1 ms, or unset it for the default (10000)',
    );
    expect(err.message).toContain('TETHER_HARNESS_CHECK_MS="": empty;');
    expect(err.message).toContain('TETHER_PORT="70000": above the maximum of 65535;');
  });

  it('refuses a default share TTL outside its bounds and a malformed URL or workspace list', () => {
    const err = refused({
      TETHER_SHARE_TTL_MS: '10s',
      TETHER_HARNESS_URL: 'localhost:8317',
      TETHER_WORKSPACES: '/repo',
    });
    expect(err.issues?.map((i) => i.path[0]).sort()).toEqual(['TETHER_HARNESS_URL', 'TETHER_WORKSPACES']);
    expect(refused({ TETHER_SHARE_TTL_MS: '10s' }).message).toContain(
      '10000 ms is not between TETHER_SHARE_MIN_TTL_MS (60000) and TETHER_SHARE_MAX_TTL_MS (14400000)',
    );
  });

  it('readConfig reports problems without throwing, with the good values alongside', () => {
    const r = readConfig({ TETHER_PORT: 'x', TETHER_HOME: '/data' });
    expect(r.problems.map((p) => p.name)).toEqual(['TETHER_PORT']);
    expect([r.config.TETHER_HOME, r.config.TETHER_URL]).toEqual(['/data', undefined]);
  });

  it('documents every setting in one line, and the README table is current (`npm run config-docs`)', () => {
    for (const [name, s] of Object.entries(settings)) {
      expect([name, s.description.length > 10, s.description.includes('\n')]).toEqual([name, true, false]);
    }
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme).toBe(withSettingsTable(readme));
  });

  it('formats a duration as the setting is written, and the setting reads it back', () => {
    for (const [ms, text] of [
      [604_800_000, '168h'],
      [90_000, '90s'],
      [120_000, '2m'],
      [1_500, '1500ms'],
    ] as const) {
      expect(formatDuration(ms)).toBe(text);
      expect(parseConfig({ TETHER_COMMAND_RETENTION_MS: text }).config.TETHER_COMMAND_RETENTION_MS).toBe(ms);
    }
  });
});
