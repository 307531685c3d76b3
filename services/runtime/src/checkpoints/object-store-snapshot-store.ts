import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Base64UrlPaddedCodec, Objm, type ObjectInfo, type ObjectStore, StorageType } from '@nats-io/obj';
import { storeErrorsOf, toStoreError } from '../store/jetstream/errors.ts';
import { checkpointCorrupt, checkpointEmpty, checkpointMissing } from './checkpoint-errors.ts';
import {
  checkBody,
  checkRef,
  checkTerminalId,
  sha256Hex,
  snapshotKey,
  type SnapshotRef,
  type SnapshotStore,
} from './snapshot-store.ts';

/** The Object Store bucket of checkpoint snapshots (stream OBJ_tether_checkpoints). */
export const CHECKPOINT_BUCKET = 'tether_checkpoints';
const STREAM = `OBJ_${CHECKPOINT_BUCKET}`;
const SERVICE = 'checkpoint store';
/** Chunk size asked for (the client caps it at the server's max_payload): a 16 MiB snapshot is 16 publishes, not 128. */
const CHUNK = 1024 * 1024;

export interface ObjectStoreSnapshotOptions {
  replicas?: number;
  /** Milliseconds to wait for each answer of the server. */
  timeoutMs?: number;
  /**
   * Chunks without an object younger than this may be a put still running (here or on another
   * tether host): sweepTemp leaves them. A put's chunks follow each other within one request timeout.
   */
  tempGraceMs?: number;
}

/**
 * Snapshots in the JetStream Object Store on NATS: object `<terminalId>/<sha256>` in bucket
 * tether_checkpoints. A put sends the chunks first and the object's meta last (one message, a
 * rollup): a reader sees the object whole or not at all, and a crash mid-put leaves only chunks
 * that no object names (sweepTemp).
 */
export class ObjectStoreSnapshotStore implements SnapshotStore {
  readonly kind = 'object-store' as const;

  private constructor(
    private readonly os: ObjectStore,
    private readonly jsm: JetStreamManager,
    private readonly tempGraceMs: number,
  ) {}

  /** Opens the bucket, creating it (file storage, `replicas`) if missing. */
  static async open(nc: NatsConnection, opts: ObjectStoreSnapshotOptions = {}): Promise<ObjectStoreSnapshotStore> {
    const timeout = opts.timeoutMs ?? 5_000;
    return storeErrorsOf(
      async () => {
        const os = await new Objm(jetstream(nc, { timeout })).create(CHECKPOINT_BUCKET, {
          storage: StorageType.File,
          replicas: opts.replicas ?? 1,
        });
        const jsm = await jetstreamManager(nc, { timeout });
        return new ObjectStoreSnapshotStore(os, jsm, opts.tempGraceMs ?? 15_000);
      },
      'open',
      SERVICE,
    );
  }

  async put(terminalId: string, body: Uint8Array): Promise<SnapshotRef> {
    checkTerminalId(terminalId);
    if (body.length === 0) throw checkpointEmpty(terminalId);
    const digest = sha256Hex(body);
    const ref = { key: snapshotKey(terminalId, digest), digest, bytes: body.length };
    const nats = natsDigest(digest);
    return this.guard('put', async () => {
      const old = await this.os.info(ref.key);
      // The same body already stored whole: a second put would purge the chunks a reader may be on.
      if (old && !old.deleted && old.size === body.length && old.digest === nats) return ref;
      const info = await this.os.putBlob({ name: ref.key, options: { max_chunk_size: CHUNK } }, body);
      if (info.size !== body.length || info.digest !== nats)
        throw checkpointCorrupt(`the server stored ${info.size} bytes (${info.digest}) for ${ref.key}`, terminalId);
      return ref;
    });
  }

  async get(terminalId: string, ref: SnapshotRef): Promise<Uint8Array> {
    checkRef(terminalId, ref);
    const info = await this.guard('get', () => this.os.info(ref.key));
    if (!info || info.deleted) throw checkpointMissing(terminalId, ref.key);
    if (info.size === 0) throw checkpointCorrupt(`${ref.key} has zero bytes`, terminalId);
    if (info.size !== ref.bytes)
      throw checkpointCorrupt(`${ref.key} has ${info.size} bytes where ${ref.bytes} were written`, terminalId);
    if (info.digest !== natsDigest(ref.digest))
      throw checkpointCorrupt(`${ref.key} holds another body (${info.digest})`, terminalId);
    // A read of chunks that are gone would wait for them forever: count them first.
    const subject = chunkSubject(info.nuid);
    const present = await this.guard('get', async () => {
      const si = await this.jsm.streams.info(STREAM, { subjects_filter: subject });
      return si.state.subjects?.[subject] ?? 0;
    });
    if (present !== info.chunks)
      throw checkpointCorrupt(`${ref.key} has ${present} of its ${info.chunks} chunks`, terminalId);
    let body: Uint8Array | null;
    try {
      body = await this.os.getBlob(ref.key);
    } catch (err) {
      // The client checks the object's own digest as it reads: a mismatch is damage, anything else an outage.
      if (/corrupt|digest/i.test((err as Error).message))
        throw checkpointCorrupt((err as Error).message.split('\n')[0]!, terminalId, err);
      throw toStoreError(err, 'get', SERVICE);
    }
    if (body === null) throw checkpointMissing(terminalId, ref.key);
    return checkBody(terminalId, ref, body);
  }

  async keepOnly(terminalId: string, keep: SnapshotRef[]): Promise<void> {
    checkTerminalId(terminalId);
    const kept = new Set(keep.map((r) => r.key));
    for (const o of await this.objectsOf(terminalId)) if (!kept.has(o.name)) await this.remove(o);
  }

  async removeAll(terminalId: string): Promise<void> {
    checkTerminalId(terminalId);
    for (const o of await this.objectsOf(terminalId)) await this.remove(o);
  }

  async sweepTemp(): Promise<string[]> {
    return this.guard('sweep', async () => {
      // Chunks first, objects second: a put that ends in between is then seen with its object.
      const si = await this.jsm.streams.info(STREAM, { subjects_filter: chunkSubject('*') });
      const named = new Set((await this.os.list()).map((o) => chunkSubject(o.nuid)));
      const removed: string[] = [];
      for (const subject of Object.keys(si.state.subjects ?? {})) {
        if (named.has(subject)) continue;
        const last = await this.jsm.streams.getMessage(STREAM, { last_by_subj: subject });
        if (last && Date.now() - last.time.getTime() < this.tempGraceMs) continue; // a put in flight
        await this.jsm.streams.purge(STREAM, { filter: subject });
        removed.push(subject);
      }
      return removed;
    });
  }

  async terminals(): Promise<string[]> {
    const objects = await this.guard('list', () => this.os.list());
    return [...new Set(objects.map((o) => o.name.split('/')[0]!))].sort();
  }

  private async objectsOf(terminalId: string): Promise<ObjectInfo[]> {
    const objects = await this.guard('list', () => this.os.list());
    return objects.filter((o) => o.name.startsWith(`${terminalId}/`));
  }

  /**
   * Purges the object's meta, then its chunks. The client's delete would keep a tombstone meta per
   * object for ever: one per checkpoint ever taken.
   */
  private remove(o: ObjectInfo): Promise<void> {
    return this.guard('delete', async () => {
      await this.jsm.streams.purge(STREAM, { filter: metaSubject(o.name) });
      await this.jsm.streams.purge(STREAM, { filter: chunkSubject(o.nuid) });
    });
  }

  private guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return storeErrorsOf(fn, what, SERVICE);
  }
}

const chunkSubject = (nuid: string) => `$O.${CHECKPOINT_BUCKET}.C.${nuid}`;
const metaSubject = (name: string) => `$O.${CHECKPOINT_BUCKET}.M.${Base64UrlPaddedCodec.encode(name)}`;
/** Our hex sha256 as the Object Store writes digests ("SHA-256=" + padded base64url). */
const natsDigest = (hex: string) => `SHA-256=${Base64UrlPaddedCodec.encode(Buffer.from(hex, 'hex'))}`;
