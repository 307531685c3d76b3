import { createHash } from 'node:crypto';
import { TetherError, Token } from '@tether/contracts';
import { checkpointCorrupt } from './checkpoint-errors.ts';

/** Where one snapshot is and what it must be: its body's sha256 (hex) and size, checked on every read. */
export interface SnapshotRef {
  key: string;
  digest: string;
  bytes: number;
}

/** Where terminals' checkpoint snapshots live: files on the embedded store, the JetStream Object Store on NATS. */
export interface SnapshotStore {
  readonly kind: 'files' | 'object-store';
  /** Atomic: a reader sees the old snapshot or the whole new one, never a part; a crash mid-write leaves the previous ones intact. Refuses an empty body. */
  put(terminalId: string, body: Uint8Array): Promise<SnapshotRef>;
  /** The body, after checking its size and digest against the ref: TetherError reason CHECKPOINT_CORRUPT (mismatch, zero bytes) or CHECKPOINT_MISSING (gone), with a message saying which terminal and what was wrong. */
  get(terminalId: string, ref: SnapshotRef): Promise<Uint8Array>;
  /** Deletes every snapshot of the terminal except `keep` (the recovery keeps the last 2). */
  keepOnly(terminalId: string, keep: SnapshotRef[]): Promise<void>;
  removeAll(terminalId: string): Promise<void>;
  /** Temp files a crash mid-write left behind: removed; returns what was removed (for the orphan report). */
  sweepTemp(): Promise<string[]>;
  /** Every terminal id with snapshots (orphan checks). */
  terminals(): Promise<string[]>;
}

export const sha256Hex = (body: Uint8Array) => createHash('sha256').update(body).digest('hex');

/** Every snapshot is named by its terminal and digest, in both stores. */
export const snapshotKey = (terminalId: string, digest: string) => `${terminalId}/${digest}`;

const DIGEST = /^[0-9a-f]{64}$/;
export const isDigest = (s: string) => DIGEST.test(s);

/** A terminal id names a folder or an object prefix: one safe token, never a path. */
export function checkTerminalId(terminalId: string): void {
  if (!Token.safeParse(terminalId).success)
    throw new TetherError(
      'INVALID_COMMAND',
      `terminal id ${JSON.stringify(terminalId)} cannot name a checkpoint: use letters, digits, "_" or "-" (1-128 chars)`,
    );
}

/** A ref that could not have come from `put` of this terminal is as unusable as a damaged body. */
export function checkRef(terminalId: string, ref: SnapshotRef): void {
  checkTerminalId(terminalId);
  if (!ref || typeof ref.digest !== 'string' || !isDigest(ref.digest))
    throw checkpointCorrupt(`its reference has no sha256 digest (${JSON.stringify(ref?.digest)})`, terminalId);
  if (!Number.isSafeInteger(ref.bytes) || ref.bytes <= 0)
    throw checkpointCorrupt(`its reference gives ${JSON.stringify(ref.bytes)} bytes`, terminalId);
  if (ref.key !== snapshotKey(terminalId, ref.digest))
    throw checkpointCorrupt(
      `its reference names ${JSON.stringify(ref.key)}, not a snapshot of this terminal`,
      terminalId,
    );
}

/** The read-side check both stores share: the body is whole and the one the ref names. */
export function checkBody(terminalId: string, ref: SnapshotRef, body: Uint8Array): Uint8Array {
  if (body.length === 0) throw checkpointCorrupt(`${ref.key} has zero bytes`, terminalId);
  if (body.length !== ref.bytes)
    throw checkpointCorrupt(`${ref.key} has ${body.length} bytes where ${ref.bytes} were written`, terminalId);
  const digest = sha256Hex(body);
  if (digest !== ref.digest)
    throw checkpointCorrupt(`${ref.key} does not match its digest (sha256 ${digest})`, terminalId);
  return body;
}
