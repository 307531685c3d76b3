import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TetherError } from '@tether/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../secret-box.ts';
import { type CheckpointBody, decodeCheckpoint, encodeCheckpoint, lastBytes } from './checkpoint-codec.ts';
import { CHECKPOINT_CORRUPT } from './checkpoint-errors.ts';

const home = mkdtempSync(join(tmpdir(), 'tether-codec-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const box = SecretBox.load(join(home, 'secret.key'));

const body = (over: Partial<CheckpointBody> = {}): CheckpointBody => ({
  v: 1,
  terminalId: 'term-1',
  takenAt: '2025-01-02T03:04:05.000Z',
  cwd: '/home/me/dir with\nnewline',
  envSealed: box.seal({ PATH: '/usr/bin' }),
  // Every byte value, a newline among them: the scrollback is binary, not text.
  scrollback: Uint8Array.from({ length: 1024 }, (_, i) => i % 256),
  ...over,
});

/** The error decode throws, or a failure if it does not throw. */
function corruptionOf(bytes: Uint8Array): TetherError {
  try {
    decodeCheckpoint(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return err as TetherError;
  }
  throw new Error('decoded a corrupt checkpoint');
}

describe('checkpoint codec', () => {
  it('decodes what it encodes, byte for byte, with one JSON header line first', () => {
    const b = body();
    const bytes = encodeCheckpoint(b);
    const nl = bytes.indexOf(0x0a);
    expect(JSON.parse(Buffer.from(bytes.subarray(0, nl)).toString())).toMatchObject({ v: 1, scrollbackBytes: 1024 });
    const back = decodeCheckpoint(bytes);
    expect({ ...back, scrollback: Buffer.from(back.scrollback) }).toEqual({
      ...b,
      scrollback: Buffer.from(b.scrollback),
    });
    expect(decodeCheckpoint(encodeCheckpoint(body({ scrollback: new Uint8Array(0) }))).scrollback.length).toBe(0);
  });

  it('refuses truncated, padded, garbage and other-version bytes with CHECKPOINT_CORRUPT saying what was wrong', () => {
    const bytes = encodeCheckpoint(body());
    const cases: [Uint8Array, RegExp][] = [
      [bytes.subarray(0, bytes.length - 1), /truncated: 1023 scrollback bytes where the header says 1024/],
      [Buffer.concat([bytes, Buffer.from('x')]), /padded: 1025 scrollback bytes/],
      [bytes.subarray(0, bytes.indexOf(0x0a)), /no header line/],
      [new Uint8Array(0), /no header line in 0 bytes/],
      [Buffer.from('{"v":1,\n'), /header is not JSON/],
      [Buffer.from('\x00\xff garbage\nmore'), /header is not JSON/],
      [Buffer.from(`${JSON.stringify({ v: 2 })}\n`), /version 2 is not 1/],
      [Buffer.from('[]\n'), /version undefined is not 1/],
      [Buffer.from(`${JSON.stringify({ v: 1, terminalId: '../x' })}\n`), /bad header: terminalId/],
    ];
    for (const [bad, message] of cases) {
      const err = corruptionOf(bad);
      expect([err.code, err.reason]).toEqual(['INTERNAL', CHECKPOINT_CORRUPT]);
      expect(err.message).toMatch(message);
      expect(err.message).toMatch(/falls back to the terminal's previous checkpoint/);
    }
  });

  it('refuses to encode a checkpoint it could not decode', () => {
    expect(() => encodeCheckpoint(body({ terminalId: 'a/b' }))).toThrow(/checkpoint of terminal a\/b: terminalId/);
    expect(() => encodeCheckpoint(body({ takenAt: 'yesterday' }))).toThrow(TetherError);
  });

  it('keeps the sealed environment sealed: no value in the bytes, and it opens again with the key', () => {
    const env = { GITHUB_TOKEN: 'ghp_s3cretvalue_xyz', DB_PASSWORD: 'hunter2-correct-horse' };
    const bytes = Buffer.from(encodeCheckpoint(body({ envSealed: box.seal(env) })));
    for (const value of Object.values(env)) {
      expect(bytes.includes(value)).toBe(false);
      expect(bytes.includes(Buffer.from(value).toString('base64'))).toBe(false);
    }
    expect(box.open(decodeCheckpoint(bytes).envSealed)).toEqual(env);
    const other = SecretBox.load(join(home, 'other.key'));
    expect(() => other.open(decodeCheckpoint(bytes).envSealed)).toThrow();
  });
});

describe('lastBytes (the scrollback bound)', () => {
  const text = (s: string) => Buffer.from(s, 'utf8');
  const str = (b: Uint8Array) => Buffer.from(b).toString('utf8');

  it('keeps all of a buffer within the bound, and cuts a larger one forward to the next line', () => {
    expect(str(lastBytes(text('one\ntwo\n'), 100))).toBe('one\ntwo\n');
    expect(str(lastBytes(text('first line\nsecond\nthird\n'), 10))).toBe('third\n');
    // A cut right after a newline keeps the whole tail.
    expect(str(lastBytes(text('aaaa\nbbbb\n'), 5))).toBe('bbbb\n');
    expect(lastBytes(text('abc'), 0).length).toBe(0);
  });

  it('never starts on half a UTF-8 character or escape sequence, and never exceeds the bound', () => {
    const buf = text('\x1b[31mrøde æbler\x1b[0m\nnæste linje ✓\nsidste ✓✓\n');
    for (let max = 1; max <= buf.length; max++) {
      const tail = lastBytes(buf, max);
      expect(tail.length).toBeLessThanOrEqual(max);
      expect(buf.subarray(buf.length - tail.length).equals(tail)).toBe(true);
      if (tail.length > 0) expect(tail[0]! & 0xc0).not.toBe(0x80); // no continuation byte first
      expect(Buffer.from(str(tail), 'utf8').equals(tail)).toBe(true); // decodes cleanly
    }
  });

  it('keeps the last bytes of one long line (no newline to cut to) instead of dropping everything', () => {
    const line = text('ø'.repeat(100)); // 200 bytes, no newline
    const tail = lastBytes(line, 51);
    expect(str(tail)).toBe('ø'.repeat(25)); // byte 149 is a continuation byte: skipped
    expect(str(lastBytes(text(`${'x'.repeat(50)}\n`), 10))).toBe('xxxxxxxxx\n');
  });
});
