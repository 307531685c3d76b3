import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Base64UrlPaddedCodec, Objm, type ObjectInfo, type ObjectStore, StorageType } from '@nats-io/obj';
import { storeErrorsOf } from '@tether/runtime';
import { checkRecordingId, type RecordingStore, type StoredRecording } from './recording-store.ts';

/** The Object Store bucket of recordings (stream OBJ_tether_recordings): object `<terminalId>`. */
export const RECORDING_BUCKET = 'tether_recordings';
const STREAM = `OBJ_${RECORDING_BUCKET}`;
const SERVICE = 'recording store';
/** Chunk size asked for (the client caps it at the server's max_payload). */
const CHUNK = 1024 * 1024;

/**
 * Recordings in the JetStream Object Store on NATS, so every tether on the NATS can play them. A put
 * sends the chunks, then the object's meta (a rollup), then the client purges the old copy's chunks:
 * a reader sees one whole copy (a read that loses the race with a put is tried once more).
 */
export class ObjectStoreRecordingStore implements RecordingStore {
  readonly kind = 'object-store' as const;

  private constructor(
    private readonly os: ObjectStore,
    private readonly jsm: JetStreamManager,
  ) {}

  /** Opens the bucket, creating it (file storage, `replicas`) if missing. */
  static async open(
    nc: NatsConnection,
    opts: { replicas?: number; timeoutMs?: number } = {},
  ): Promise<ObjectStoreRecordingStore> {
    const timeout = opts.timeoutMs ?? 10_000;
    return storeErrorsOf(
      async () => {
        const os = await new Objm(jetstream(nc, { timeout })).create(RECORDING_BUCKET, {
          storage: StorageType.File,
          replicas: opts.replicas ?? 1,
        });
        return new ObjectStoreRecordingStore(os, await jetstreamManager(nc, { timeout }));
      },
      'open',
      SERVICE,
    );
  }

  async put(terminalId: string, body: Uint8Array): Promise<void> {
    checkRecordingId(terminalId);
    await this.guard('put', () => this.os.putBlob({ name: terminalId, options: { max_chunk_size: CHUNK } }, body));
  }

  async get(terminalId: string): Promise<Uint8Array | undefined> {
    checkRecordingId(terminalId);
    for (let attempt = 0; ; attempt++) {
      try {
        const info = await this.os.info(terminalId);
        if (!info || info.deleted) return undefined;
        return (await this.os.getBlob(terminalId)) ?? undefined;
      } catch (err) {
        if (attempt >= 1) return this.guard('get', () => Promise.reject(err));
      }
    }
  }

  async list(): Promise<StoredRecording[]> {
    const objects = await this.guard('list', () => this.os.list());
    return objects
      .filter((o) => !o.deleted)
      .map((o) => ({ terminalId: o.name, bytes: o.size, modifiedAt: new Date(o.mtime) }));
  }

  /** Purges the object's meta, then its chunks (the client's delete would keep a tombstone per recording for ever). */
  async remove(terminalId: string): Promise<void> {
    checkRecordingId(terminalId);
    const info = await this.guard('get', () => this.os.info(terminalId));
    if (!info) return;
    await this.purge(info);
  }

  private purge(o: ObjectInfo): Promise<void> {
    return this.guard('delete', async () => {
      await this.jsm.streams.purge(STREAM, {
        filter: `$O.${RECORDING_BUCKET}.M.${Base64UrlPaddedCodec.encode(o.name)}`,
      });
      await this.jsm.streams.purge(STREAM, { filter: `$O.${RECORDING_BUCKET}.C.${o.nuid}` });
    });
  }

  private guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return storeErrorsOf(fn, what, SERVICE);
  }
}
