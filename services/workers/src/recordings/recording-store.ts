import { TetherError, Token } from '@tether/contracts';

/** One stored recording: its terminal, size and when it was last written (retention counts from then). */
export interface StoredRecording {
  terminalId: string;
  bytes: number;
  modifiedAt: Date;
}

/**
 * Where finished and in-progress recordings are kept for playing: the JetStream Object Store on NATS
 * (any tether on it can play them), files under $TETHER_HOME/recordings on the embedded store.
 */
export interface RecordingStore {
  readonly kind: 'object-store' | 'files';
  /** Stores the recording whole (replacing an older copy): a reader sees the old copy or the new one. */
  put(terminalId: string, body: Uint8Array): Promise<void>;
  /** The recording, or undefined when there is none. */
  get(terminalId: string): Promise<Uint8Array | undefined>;
  list(): Promise<StoredRecording[]>;
  remove(terminalId: string): Promise<void>;
}

/** A terminal id names a file or an object: one safe token, never a path. */
export function checkRecordingId(terminalId: string): void {
  if (!Token.safeParse(terminalId).success)
    throw new TetherError(
      'INVALID_COMMAND',
      `${JSON.stringify(terminalId.slice(0, 64))} cannot name a recording: use a terminal id (letters, digits, "_" or "-", 1-128 chars)`,
    );
}

/** Deletes recordings last written more than `retentionMs` before `now`; returns the terminal ids removed. */
export async function sweepRecordings(store: RecordingStore, retentionMs: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const r of await store.list()) {
    if (now - r.modifiedAt.getTime() <= retentionMs) continue;
    await store.remove(r.terminalId);
    removed.push(r.terminalId);
  }
  return removed;
}
