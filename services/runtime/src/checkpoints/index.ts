export {
  CheckpointHeader,
  type CheckpointBody,
  decodeCheckpoint,
  encodeCheckpoint,
  lastBytes,
} from './checkpoint-codec.ts';
export {
  CHECKPOINT_CORRUPT,
  CHECKPOINT_EMPTY,
  CHECKPOINT_MISSING,
  isCheckpointCorrupt,
  isCheckpointMissing,
} from './checkpoint-errors.ts';
export { FileSnapshotStore } from './file-snapshot-store.ts';
export {
  CHECKPOINT_BUCKET,
  ObjectStoreSnapshotStore,
  type ObjectStoreSnapshotOptions,
} from './object-store-snapshot-store.ts';
export { type SnapshotRef, type SnapshotStore, sha256Hex } from './snapshot-store.ts';
