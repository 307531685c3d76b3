import { describe, expect, it } from 'vitest';
import type { Out } from '../output.ts';
import { configCmd } from './config.ts';

/** Captures what a command prints, for people and as JSON. */
function capture(json: boolean) {
  const printed: { human: string; data: unknown }[] = [];
  const out: Out = { json, print: (human, data) => printed.push({ human, data }), line: () => undefined };
  return { out, printed };
}

describe('tether config', () => {
  it('prints every setting with its value and whether it came from the environment or the default', async () => {
    const { out, printed } = capture(false);
    const env = { TETHER_PORT: '8080', TETHER_NATS_USER: 'tether', TETHER_NATS_PASSWORD: 'pw-9f3c1a' };
    expect(await configCmd(out, {}, env)).toBe(0);
    const lines = printed[0]!.human.split('\n');
    expect(lines[0]).toMatch(/^setting\s+value\s+from$/);
    expect(lines.find((l) => l.startsWith('TETHER_PORT '))).toMatch(/^TETHER_PORT\s+8080\s+env$/);
    expect(lines.find((l) => l.startsWith('TETHER_SHARE_TTL_MS '))).toMatch(
      /^TETHER_SHARE_TTL_MS\s+1800000 ms\s+default$/,
    );
    expect(lines.find((l) => l.startsWith('TETHER_URL '))).toMatch(
      /^TETHER_URL\s+http:\/\/127\.0\.0\.1:8080\s+default$/,
    );
    expect(lines.find((l) => l.startsWith('TETHER_NATS_USER '))).toMatch(/^TETHER_NATS_USER\s+tether\s+env$/);
    expect(lines.find((l) => l.startsWith('TETHER_NATS_PASSWORD '))).toMatch(/^TETHER_NATS_PASSWORD\s+\*\*\*\s+env$/);
    expect(JSON.stringify(printed)).not.toContain('pw-9f3c1a');
    expect(lines.find((l) => l.startsWith('TETHER_HARNESS_URL '))).toMatch(/\(unset\)\s+default$/);
  });

  it('refuses credentials in NATS_URL, or a password without its user, and never prints the password', async () => {
    for (const [env, says] of [
      [{ NATS_URL: 'nats://ann:pw-9f3c1a@n1:4222' }, 'NATS_URL="nats://ann:***@n1:4222": holds a user or password'],
      [{ TETHER_NATS_PASSWORD: 'pw-9f3c1a' }, 'TETHER_NATS_PASSWORD="***": set without TETHER_NATS_USER'],
    ] as const) {
      const { out, printed } = capture(true);
      const err = await configCmd(out, { json: true }, env).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining(says) });
      expect(JSON.stringify(printed) + (err as Error).message).not.toContain('pw-9f3c1a');
    }
  });

  it('gives the same as JSON, and marks a bad value invalid before failing with what to set', async () => {
    const { out, printed } = capture(true);
    await expect(configCmd(out, { json: true }, { TETHER_SHARE_READY_MS: 'soon' })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('TETHER_SHARE_READY_MS="soon": not a duration'),
    });
    const { ok, settings } = printed[0]!.data as { ok: boolean; settings: Record<string, unknown>[] };
    expect(ok).toBe(false);
    expect(settings.find((s) => s.name === 'TETHER_SHARE_READY_MS')).toMatchObject({
      value: 'soon',
      source: 'invalid',
      unit: 'ms',
      problem: expect.stringContaining('not a duration'),
    });
    expect(settings.find((s) => s.name === 'TETHER_HOME')).toEqual({
      name: 'TETHER_HOME',
      value: '.tether',
      source: 'default',
    });
  });
});
