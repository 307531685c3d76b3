import { describe, expect, it } from 'vitest';
import { Scrollback } from './scrollback.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('Scrollback at absolute offsets', () => {
  it('serves the bytes from an offset it still holds, and nothing for one it dropped or never had', () => {
    const back = new Scrollback(8);
    back.push(bytes('abcd'));
    back.push(bytes('efgh'));
    expect([back.start, back.end]).toEqual([0, 8]);
    expect(text(back.readFrom(5))).toBe('fgh');
    expect(text(back.readFrom(8))).toBe(''); // up to date: nothing missing
    back.push(bytes('ijkl'));
    expect([back.start, back.end, text(back.read())]).toEqual([4, 12, 'efghijkl']);
    expect(text(back.readFrom(4))).toBe('efghijkl');
    expect(back.readFrom(3)).toBeUndefined(); // dropped: the viewer starts over from the scrollback
    expect(back.readFrom(13)).toBeUndefined(); // never served
    expect(back.readFrom(4.5)).toBeUndefined();
  });

  it('cuts the oldest chunk when one chunk straddles the limit', () => {
    const back = new Scrollback(5);
    back.push(bytes('abc'));
    back.push(bytes('defg'));
    expect([back.start, back.end, text(back.read())]).toEqual([2, 7, 'cdefg']);
    expect(text(back.readFrom(2))).toBe('cdefg');
    expect(back.readFrom(1)).toBeUndefined();
  });
});
