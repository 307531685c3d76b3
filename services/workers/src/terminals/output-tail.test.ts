import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.ts';

describe('output tail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-tail-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // An echo must not wait for the next poll: with a poll a minute away, only the watch can deliver it.
  it('hands over what is appended without waiting for its interval, in order, and stops when stopped', async () => {
    const file = join(dir, 'pane.log');
    writeFileSync(file, 'before\n');
    let seen = '';
    const tail = new OutputTail(file, (chunk) => (seen += Buffer.from(chunk).toString()), true, 60_000);
    tail.start();
    appendFileSync(file, 'a');
    await waitFor(() => seen === 'a');
    appendFileSync(file, 'bc');
    await waitFor(() => seen === 'abc');
    tail.stop();
    appendFileSync(file, 'd');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toBe('abc');
  });
});

async function waitFor(ok: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
