import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tmux } from './tmux.ts';

describe("a terminal's environment", () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-tmux-env-'));
  const tmux = new Tmux(join(dir, 'tmux.sock'));
  afterAll(async () => {
    delete process.env.TETHER_NATS_PASSWORD;
    await tmux.killSession('t1');
  });

  // Whoever types in a terminal (a person, an agent, a share's writer) can run `env`.
  it("holds the terminal's own variables but none of tether's secrets", async () => {
    process.env.TETHER_NATS_PASSWORD = 'pw-tmux-env';
    await tmux.newSession('t1', dir, { TETHER_TERMINAL_ID: 't1' }, 'sleep 30', join(dir, 'status'));
    const env = readFileSync(`/proc/${await tmux.panePid('t1')}/environ`, 'utf8').split('\0');
    expect(env).toContain('TETHER_TERMINAL_ID=t1');
    expect(env.filter((e) => e.startsWith('TETHER_NATS_PASSWORD='))).toEqual([]);
  });
});
