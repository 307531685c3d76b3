import qrcode from 'qrcode-generator';
import { describe, expect, it } from 'vitest';
import { qrText } from './qr-text.ts';

describe('qrText', () => {
  it('draws every module of the code, two rows a line, black on white inside a quiet zone', () => {
    const link = 'http://127.0.0.1:7420/v/sh-0123456789abcdef#t=token-of-forty-odd-characters-xxxxxxxxxxxx';
    const lines = qrText(link).split('\n');
    const [black, plain] = ['\x1b[30;47m', '\x1b[0m'];
    for (const l of lines) {
      expect([l.startsWith(black), l.endsWith(plain)]).toEqual([true, true]);
      expect(l.slice(black.length, -plain.length)).toMatch(/^[ ▀▄█]+$/);
    }
    const rows = lines.flatMap((l) => {
      const cells = [...l.slice(black.length, -plain.length)];
      return [cells.map((ch) => ch === '▀' || ch === '█'), cells.map((ch) => ch === '▄' || ch === '█')];
    });
    const qr = qrcode(0, 'L');
    qr.addData(link);
    qr.make();
    const n = qr.getModuleCount();
    for (let r = 0; r < n; r++)
      for (let c = 0; c < n; c++) expect(rows[r + 2]![c + 2], `module ${r},${c}`).toBe(qr.isDark(r, c));
    expect(rows[0]!.some(Boolean) || rows[1]!.some(Boolean)).toBe(false);
  });
});
