import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import { CHECKPOINT_BUCKET, FileSnapshotStore, ObjectStoreSnapshotStore, connectNats } from '@tether/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '../harness/nats-server.ts';
import { snapshotStoreConformance } from './snapshot-store.conformance.ts';

const dirs: string[] = [];
let nats: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connectNats(nats.url);
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'tether-ckpt-'));
  dirs.push(d);
  return join(d, 'checkpoints');
};
/** A pid no process has any more: the writer of a temp file a crash left. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

snapshotStoreConformance('files', async () => {
  const dir = freshDir();
  return {
    store: new FileSnapshotStore(dir),
    damage: async (terminalId, ref, bytes) => writeFileSync(join(dir, terminalId, ref.digest), bytes),
    leaveTemp: async (terminalId) => {
      mkdirSync(join(dir, terminalId), { recursive: true });
      writeFileSync(join(dir, terminalId, `${'a'.repeat(64)}.${deadPid()}.0badf00d.tmp`), randomBytes(1000));
    },
  };
});

snapshotStoreConformance('object store (real nats-server)', async () => {
  // A fresh bucket per case.
  await (await jetstreamManager(nc)).streams.delete(`OBJ_${CHECKPOINT_BUCKET}`).catch(() => undefined);
  const store = await ObjectStoreSnapshotStore.open(nc, { tempGraceMs: 0 });
  const raw = await new Objm(nc).open(CHECKPOINT_BUCKET);
  return {
    store,
    damage: async (_terminalId, ref, bytes) => void (await raw.putBlob({ name: ref.key }, bytes)),
    // What a put that died between its chunks and its meta leaves: chunks under a nuid no object names.
    leaveTemp: async () => {
      const js = jetstream(nc);
      const subject = `$O.${CHECKPOINT_BUCKET}.C.${randomBytes(11).toString('hex')}`;
      for (let i = 0; i < 3; i++) await js.publish(subject, randomBytes(1000));
    },
  };
});

describe('FileSnapshotStore on disk', () => {
  it('keeps the folder 0700 and every snapshot 0600, named by its digest, with no temp file left', async () => {
    const dir = freshDir();
    const store = new FileSnapshotStore(dir);
    const ref = await store.put('t1', randomBytes(5000));
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    expect([mode(dir), mode(join(dir, 't1')), mode(join(dir, 't1', ref.digest))]).toEqual(['700', '700', '600']);
    expect(readdirSync(join(dir, 't1'))).toEqual([ref.digest]);
  });

  it("leaves the temp file of a live writer's put alone", async () => {
    const dir = freshDir();
    const store = new FileSnapshotStore(dir);
    mkdirSync(join(dir, 't1'), { recursive: true });
    const live = `${'b'.repeat(64)}.${process.ppid}.0badf00d.tmp`;
    writeFileSync(join(dir, 't1', live), 'x');
    expect(await store.sweepTemp()).toEqual([]);
    expect(readdirSync(join(dir, 't1'))).toEqual([live]);
  });
});

describe('ObjectStoreSnapshotStore on NATS', () => {
  it('leaves chunks younger than the grace (a put that may still run) and removes them after it', async () => {
    await (await jetstreamManager(nc)).streams.delete(`OBJ_${CHECKPOINT_BUCKET}`).catch(() => undefined);
    const patient = await ObjectStoreSnapshotStore.open(nc, { tempGraceMs: 60_000 });
    const subject = `$O.${CHECKPOINT_BUCKET}.C.${randomBytes(11).toString('hex')}`;
    await jetstream(nc).publish(subject, randomBytes(100));
    expect(await patient.sweepTemp()).toEqual([]);
    const eager = await ObjectStoreSnapshotStore.open(nc, { tempGraceMs: 0 });
    expect(await eager.sweepTemp()).toEqual([subject]);
  });

  it('reports an object whose chunks are gone as CHECKPOINT_CORRUPT at once, instead of waiting for them', async () => {
    const store = await ObjectStoreSnapshotStore.open(nc);
    const ref = await store.put('t-chunks', randomBytes(3000));
    const info = await (await new Objm(nc).open(CHECKPOINT_BUCKET)).info(ref.key);
    await (await jetstreamManager(nc)).streams.purge(`OBJ_${CHECKPOINT_BUCKET}`, {
      filter: `$O.${CHECKPOINT_BUCKET}.C.${info!.nuid}`,
    });
    await expect(store.get('t-chunks', ref)).rejects.toMatchObject({
      reason: 'CHECKPOINT_CORRUPT',
      message: expect.stringMatching(/terminal t-chunks is corrupt: t-chunks\/\w+ has 0 of its 1 chunks/),
    });
  });

  it('deletes leave no tombstone behind: the bucket holds only the snapshots kept', async () => {
    await (await jetstreamManager(nc)).streams.delete(`OBJ_${CHECKPOINT_BUCKET}`).catch(() => undefined);
    const store = await ObjectStoreSnapshotStore.open(nc);
    const refs = [];
    for (let i = 0; i < 5; i++) refs.push(await store.put('t1', randomBytes(1000 + i)));
    await store.keepOnly('t1', refs.slice(3));
    const si = await (await jetstreamManager(nc)).streams.info(`OBJ_${CHECKPOINT_BUCKET}`);
    expect(si.state.messages).toBe(4); // 2 objects: one chunk and one meta each
    await store.removeAll('t1');
    expect((await (await jetstreamManager(nc)).streams.info(`OBJ_${CHECKPOINT_BUCKET}`)).state.messages).toBe(0);
  });
});
