import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { processesMarked } from './proc-scan.ts';
import { stopMarked } from './terminate.ts';

/** A marked shell that ignores SIGTERM (or not), as a stuck worker would. */
function marked(ignoreTerm: boolean) {
  const marker = randomUUID();
  const trap = ignoreTerm ? `trap '' TERM; ` : '';
  const child = spawn('sh', ['-c', `${trap}sleep 30 & wait`], { env: { ...process.env, TETHER_TEST_MARK: marker } });
  const ended = new Promise<string | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  return { marker, ended };
}

describe('stopMarked', () => {
  it('ends every marked process with SIGTERM when that is enough', async () => {
    const p = marked(false);
    await expect.poll(() => processesMarked('TETHER_TEST_MARK', p.marker).length).toBe(2);
    await stopMarked('TETHER_TEST_MARK', p.marker, 2_000);
    expect(processesMarked('TETHER_TEST_MARK', p.marker)).toEqual([]);
    expect(await p.ended).toBe('SIGTERM');
  });

  it('SIGKILLs what ignores SIGTERM once the grace is over', async () => {
    const p = marked(true);
    await expect.poll(() => processesMarked('TETHER_TEST_MARK', p.marker).length).toBe(2);
    const t0 = Date.now();
    await stopMarked('TETHER_TEST_MARK', p.marker, 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(processesMarked('TETHER_TEST_MARK', p.marker)).toEqual([]);
    expect(await p.ended).toBe('SIGKILL');
  });
});
