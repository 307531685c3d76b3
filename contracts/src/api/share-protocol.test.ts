import { describe, expect, it } from 'vitest';
import { reconnectDelayMs, RelayClose, relayCloseIsFinal, ViewerMessage } from './sharing.ts';

describe('share protocol (docs/share-protocol.md)', () => {
  it('hello and resize take sizes in bounds only, and a resume point', () => {
    const token = 'x'.repeat(16);
    expect(ViewerMessage.safeParse({ type: 'hello', token, cols: 120, rows: 40 }).success).toBe(true);
    expect(ViewerMessage.safeParse({ type: 'hello', token, resume: { stream: 's1', offset: 1234 } }).success).toBe(
      true,
    );
    expect(ViewerMessage.safeParse({ type: 'hello', token, resume: { stream: 's1', offset: -1 } }).success).toBe(false);
    for (const [cols, rows, ok] of [
      [10, 4, true],
      [1000, 500, true],
      [9, 24, false],
      [80, 501, false],
      [80.5, 24, false],
    ] as const)
      expect(ViewerMessage.safeParse({ type: 'resize', cols, rows }).success).toBe(ok);
  });

  it('a refusal, a kick or an end stops a viewer; a restart of tether and a blip do not', () => {
    // badHello, badToken, kicked, webNotAllowed, unknownShare, shareEnded, and the client's own detach.
    for (const code of [4400, 4401, 4403, 4405, 4404, 4410, 1000]) expect(relayCloseIsFinal(code, false)).toBe(true);
    for (const code of [1006, 1001, 1011, RelayClose.helloTimeout]) expect(relayCloseIsFinal(code, false)).toBe(false);
    expect(relayCloseIsFinal(RelayClose.shuttingDown, true)).toBe(false);
    expect(relayCloseIsFinal(1011, true)).toBe(true); // told it ended
  });

  it('backs off from 250 ms, doubling, to at most 5 s, with jitter', () => {
    expect(reconnectDelayMs(0, 0.999)).toBeLessThanOrEqual(250);
    expect(reconnectDelayMs(0, 0)).toBe(125);
    expect(reconnectDelayMs(3, 0.999)).toBeLessThanOrEqual(2_000);
    expect(reconnectDelayMs(50, 0.999)).toBeLessThanOrEqual(5_000);
    expect(reconnectDelayMs(50, 0)).toBeGreaterThanOrEqual(2_500);
  });
});
