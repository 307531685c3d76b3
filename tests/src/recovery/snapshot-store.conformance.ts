import { randomBytes } from 'node:crypto';
import type { TetherError } from '@tether/contracts';
import {
  CHECKPOINT_CORRUPT,
  CHECKPOINT_EMPTY,
  CHECKPOINT_MISSING,
  type SnapshotRef,
  type SnapshotStore,
} from '@tether/runtime';
import { describe, expect, it } from 'vitest';
import { rejection } from '../harness/index.ts';

export interface SnapshotStoreFixture {
  /** An empty store (a fresh folder, a fresh bucket). */
  store: SnapshotStore;
  /** Replaces the stored bytes of `ref` behind the store's back: damage on disk or in the bucket. */
  damage(terminalId: string, ref: SnapshotRef, bytes: Uint8Array): Promise<void>;
  /** Leaves what a crash in the middle of a put leaves: a temp file, or chunks that no object names. */
  leaveTemp(terminalId: string): Promise<void>;
}

const MiB = 1024 * 1024;
let n = 0;
const tid = () => `term-${process.pid}-${n++}`;

/** The same cases against every SnapshotStore adapter. */
export function snapshotStoreConformance(name: string, make: () => Promise<SnapshotStoreFixture>) {
  describe(`SnapshotStore conformance: ${name}`, () => {
    it('reads back what it stored, byte for byte, up to 16 MiB; the same body twice is one snapshot', async () => {
      const { store } = await make();
      const t = tid();
      const small = randomBytes(1000);
      const ref = await store.put(t, small);
      expect(ref).toEqual({ key: `${t}/${ref.digest}`, digest: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: 1000 });
      expect(Buffer.from(await store.get(t, ref)).equals(small)).toBe(true);
      expect(await store.put(t, Buffer.from(small))).toEqual(ref);
      const large = randomBytes(16 * MiB);
      const bigRef = await store.put(t, large);
      expect(Buffer.from(await store.get(t, bigRef)).equals(large)).toBe(true);
      expect(Buffer.from(await store.get(t, ref)).equals(small)).toBe(true); // the older one is still there
    });

    it('never shows a part: while a large put runs, its snapshot is missing or whole', async () => {
      const { store } = await make();
      const t = tid();
      const body = randomBytes(8 * MiB);
      const digest = (await import('@tether/runtime')).sha256Hex(body);
      const ref = { key: `${t}/${digest}`, digest, bytes: body.length };
      let done = false;
      const put = store.put(t, body).finally(() => (done = true));
      let missing = 0;
      while (!done) {
        try {
          expect(Buffer.from(await store.get(t, ref)).equals(body)).toBe(true);
        } catch (err) {
          expect((err as TetherError).reason).toBe(CHECKPOINT_MISSING); // never CORRUPT: no half-written snapshot
          missing++;
        }
      }
      expect(await put).toEqual(ref);
      expect(missing).toBeGreaterThan(0); // the reads did overlap the put
      expect(Buffer.from(await store.get(t, ref)).equals(body)).toBe(true);
    });

    it('reports damage as CHECKPOINT_CORRUPT: other bytes, other size, zero bytes, a bad ref', async () => {
      const { store, damage } = await make();
      const t = tid();
      const body = randomBytes(4096);
      const ref = await store.put(t, body);
      const cases: [Uint8Array, RegExp][] = [
        [randomBytes(4096), /does not match its digest|holds another body/],
        [randomBytes(4097), /has 4097 bytes where 4096 were written/],
        [body.subarray(0, 100), /has 100 bytes where 4096 were written/],
        [new Uint8Array(0), /has zero bytes/],
      ];
      for (const [bytes, message] of cases) {
        await damage(t, ref, bytes);
        const err = await rejection(store.get(t, ref));
        expect([err.code, err.reason]).toEqual(['INTERNAL', CHECKPOINT_CORRUPT]);
        expect(err.message).toContain(`terminal ${t}`);
        expect(err.message).toMatch(message);
      }
      const bad: SnapshotRef[] = [
        { ...ref, digest: 'nope' },
        { ...ref, bytes: 0 },
        { ...ref, key: `other/${ref.digest}` },
      ];
      for (const r of bad) expect((await rejection(store.get(t, r))).reason).toBe(CHECKPOINT_CORRUPT);
      // A put of the good body again repairs the damaged snapshot.
      expect(await store.put(t, body)).toEqual(ref);
      expect(Buffer.from(await store.get(t, ref)).equals(body)).toBe(true);
    });

    it('reports a snapshot that is gone as CHECKPOINT_MISSING, naming the terminal', async () => {
      const { store } = await make();
      const t = tid();
      const ref = await store.put(t, randomBytes(100));
      const never = { ...ref, key: `${t}/${'0'.repeat(64)}`, digest: '0'.repeat(64) };
      const gone = await rejection(store.get(t, never));
      expect([gone.code, gone.reason]).toEqual(['NOT_FOUND', CHECKPOINT_MISSING]);
      expect(gone.message).toContain(`terminal ${t}`);
      expect((await rejection(store.get(tid(), { ...ref, key: ref.key }))).reason).toBe(CHECKPOINT_CORRUPT); // another terminal's ref
    });

    it('keepOnly keeps the snapshots named and deletes the rest of that terminal only', async () => {
      const { store } = await make();
      const [t, other] = [tid(), tid()];
      const refs: SnapshotRef[] = [];
      for (let i = 0; i < 4; i++) refs.push(await store.put(t, randomBytes(2000 + i)));
      const otherRef = await store.put(other, randomBytes(10));
      await store.keepOnly(t, refs.slice(2));
      for (const r of refs.slice(0, 2)) expect((await rejection(store.get(t, r))).reason).toBe(CHECKPOINT_MISSING);
      for (const r of refs.slice(2)) expect((await store.get(t, r)).length).toBe(r.bytes);
      expect((await store.get(other, otherRef)).length).toBe(10);
      await store.keepOnly(t, []);
      expect(await store.terminals()).toEqual([other]);
    });

    it('removeAll deletes every snapshot of the terminal; terminals() lists those with snapshots', async () => {
      const { store } = await make();
      const [a, b, c] = [tid(), tid(), tid()].sort();
      const refA = await store.put(a!, randomBytes(10));
      await store.put(b!, randomBytes(10));
      await store.put(b!, randomBytes(11));
      await store.put(c!, randomBytes(10));
      expect(await store.terminals()).toEqual([a, b, c]);
      await store.removeAll(b!);
      await store.removeAll('never-had-one'); // nothing to do: no error
      expect(await store.terminals()).toEqual([a, c]);
      expect((await store.get(a!, refA)).length).toBe(10);
    });

    it('refuses an empty body and a terminal id that is not a token, changing nothing', async () => {
      const { store } = await make();
      const t = tid();
      const ref = await store.put(t, randomBytes(50));
      const empty = await rejection(store.put(t, new Uint8Array(0)));
      expect(empty.reason).toBe(CHECKPOINT_EMPTY);
      expect(empty.message).toMatch(new RegExp(`empty checkpoint of terminal ${t}.*the previous one is kept`));
      for (const bad of ['../escape', 'a/b', '', 'x.y']) {
        const err = await rejection(store.put(bad, randomBytes(5)));
        expect(err.code).toBe('INVALID_COMMAND');
        expect(err.message).toMatch(/cannot name a checkpoint: use letters, digits/);
      }
      expect(await store.terminals()).toEqual([t]);
      expect((await store.get(t, ref)).length).toBe(50);
    });

    it('sweepTemp removes what a crash mid-write left and reports it, keeping every snapshot', async () => {
      const { store, leaveTemp } = await make();
      const t = tid();
      const ref = await store.put(t, randomBytes(300));
      await leaveTemp(t);
      await leaveTemp(tid()); // a terminal whose first put crashed: no snapshot, only a temp
      expect(await store.terminals()).toEqual([t]);
      const removed = await store.sweepTemp();
      expect(removed).toHaveLength(2);
      expect(await store.sweepTemp()).toEqual([]);
      expect((await store.get(t, ref)).length).toBe(300);
    });
  });
}
