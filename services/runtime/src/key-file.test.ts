import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKeyFile } from './key-file.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const home = () => {
  const d = mkdtempSync(join(tmpdir(), 'tether-key-'));
  dirs.push(d);
  return join(d, 'home');
};
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('key files', () => {
  it('makes a 32-byte key once, 0600 in a 0700 folder, and reads the same key after', () => {
    const file = join(home(), 'audit.key');
    const key = loadKeyFile(file, 'x');
    expect(key.length).toBe(32);
    expect([mode(file), mode(join(file, '..'))]).toEqual(['600', '700']);
    expect(loadKeyFile(file, 'x')).toEqual(key);
    expect(readFileSync(file, 'utf8')).toBe(key.toString('hex'));
  });

  it('narrows a key copied in with loose permissions, and refuses a damaged one saying what a new key breaks', () => {
    const file = join(home(), 'audit.key');
    const key = loadKeyFile(file, 'x');
    chmodSync(file, 0o644);
    expect(loadKeyFile(file, 'x')).toEqual(key);
    expect(mode(file)).toBe('600');
    writeFileSync(file, 'not hex');
    expect(() => loadKeyFile(file, 'old records no longer verify')).toThrow(
      /audit\.key is not a 32-byte hex key; restore it from a backup, or delete it to make a new one \(old records no longer verify\)/,
    );
  });
});
