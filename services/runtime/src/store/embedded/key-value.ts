import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyValueStore, KvBucket, KvBucketOptions } from '../ports/key-value.ts';
import type { StoreContext } from './common.ts';
import { EmbeddedKv, checkBucketName } from './kv-bucket.ts';

/** KV buckets as files dir/kv/<bucket>.jsonl, each opened once per store. */
export class EmbeddedKeyValue implements KeyValueStore {
  private readonly buckets = new Map<string, EmbeddedKv>();

  constructor(private readonly ctx: StoreContext) {}

  async kv(bucket: string, opts: KvBucketOptions = {}): Promise<KvBucket> {
    this.ctx.assertOpen();
    checkBucketName(bucket);
    let b = this.buckets.get(bucket);
    if (!b) {
      b = EmbeddedKv.open(this.ctx, bucket, this.path(bucket), opts.ttlMs);
      this.buckets.set(bucket, b);
    }
    return b;
  }

  async destroyKv(bucket: string): Promise<void> {
    this.ctx.assertWritable();
    checkBucketName(bucket);
    this.buckets.get(bucket)?.destroy();
    this.buckets.delete(bucket);
    rmSync(this.path(bucket), { force: true });
  }

  /** Ends the watchers and releases the files. */
  close(): void {
    for (const b of this.buckets.values()) b.close();
  }

  private path(bucket: string): string {
    return join(this.ctx.dir, 'kv', `${bucket}.jsonl`);
  }
}
