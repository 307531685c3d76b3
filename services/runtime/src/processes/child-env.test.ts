import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnGroup, stopGroup } from './process-group.ts';

const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

describe("a worker's environment", () => {
  afterEach(() => {
    delete process.env.TETHER_NATS_PASSWORD;
  });

  it("holds tether's environment and the worker's own, but none of tether's secrets", async () => {
    process.env.TETHER_NATS_PASSWORD = 'pw-child-env';
    const dir = mkdtempSync(join(tmpdir(), 'tether-child-env-'));
    const g = spawnGroup('sleep', ['30'], {
      env: { TETHER_SHARE_ID: 's1' },
      logFile: join(dir, 'worker.log'),
      markerName: 'TETHER_TEST_MARK',
    });
    try {
      const env = environ(g.pid);
      expect(env).toContain('TETHER_SHARE_ID=s1');
      expect(env).toContain(`PATH=${process.env.PATH}`);
      expect(env.filter((e) => e.startsWith('TETHER_NATS_PASSWORD='))).toEqual([]);
    } finally {
      await stopGroup(g, 2_000);
    }
  });
});
