import { describe, expect, it } from 'vitest';
import { NatsTerminalIO, followTerminal } from '@tether/workers';
import { eventually, uid, useNats } from '../harness/index.ts';

const ctx = useNats();
const text = (chunks: Uint8Array[]) => chunks.map((c) => Buffer.from(c).toString()).join('|');

describe('terminal output over NATS (what a share relay follows)', () => {
  it('a chunk above the server max_payload goes out in pieces, each with its own end offset', async () => {
    const io = new NatsTerminalIO(ctx.store.nc);
    const id = uid('t');
    const got: Array<[number, number | undefined]> = [];
    const stop = io.onOutput(id, (chunk, end) => got.push([chunk.length, end]));
    await ctx.store.nc.flush();
    const big = new Uint8Array(1.5 * 1024 * 1024).fill(65);
    io.publishOutput(id, big, 10_000_000); // throws "max_payload size exceeded" if sent whole with its header
    await eventually(
      () => got.reduce((n, [len]) => n + len, 0),
      (n) => n === big.length,
    );
    expect(got.length).toBeGreaterThan(1);
    expect(got.at(-1)![1]).toBe(10_000_000);
    let end = 10_000_000 - big.length;
    for (const [len, offset] of got) {
      end += len;
      expect(offset).toBe(end);
    }
    stop();
  });

  it('followTerminal: the scrollback first, then what came meanwhile minus what it holds, then live output', async () => {
    const io = new NatsTerminalIO(ctx.store.nc);
    const id = uid('t');
    const enc = (s: string) => new TextEncoder().encode(s);
    // The terminal prints while the follower's scrollback request is on its way: "c" (already in the
    // scrollback, up to offset 3) and "d" (after it).
    const stopServing = io.serveScrollback(id, () => {
      io.publishOutput(id, enc('c'), 3);
      io.publishOutput(id, enc('d'), 4);
      return { data: enc('abc'), offset: 3 };
    });
    await ctx.store.nc.flush();
    const seen: Uint8Array[] = [];
    const { stop } = await followTerminal(io, id, (c) => seen.push(c));
    io.publishOutput(id, enc('e'), 5);
    await eventually(
      () => text(seen),
      (t) => t.endsWith('e'),
    );
    expect(text(seen)).toBe('abc|d|e');
    stop();
    stopServing();
    await expect(followTerminal(io, uid('none'), () => undefined)).rejects.toThrow(/not running on any tether host/);
  });

  it('a handoff reaches the relay wherever it runs: the relaying process reads its writer again and says which it is', async () => {
    const relayIo = new NatsTerminalIO(ctx.store.nc);
    const otherIo = new NatsTerminalIO(ctx.store.nc);
    const id = uid('t');
    let reads = 0;
    const stop = relayIo.serveWriterRefresh(id, async () => `session-after-${++reads}`);
    await ctx.store.nc.flush();
    expect(await otherIo.refreshWriter(id)).toBe('session-after-1');
    stop();
    // Nobody relays it any more: no answer, and no writer.
    expect(await otherIo.refreshWriter(id, 500)).toBeUndefined();
  });
});
