import { join } from 'node:path';
import type { Capability, CapabilityDeps, TerminalAccess } from '@tether/runtime';
import { Tmux } from '../terminals/tmux.ts';
import { FileRecordingStore } from './file-recording-store.ts';
import { ObjectStoreRecordingStore } from './object-store-recording-store.ts';
import { Recorder, type RecorderOptions } from './recorder.ts';
import type { RecordingStore } from './recording-store.ts';
import { recordingPages } from './recording.pages.ts';
import { recordingRoutes } from './recording.routes.ts';

export interface Recordings extends Capability {
  recorder: Recorder;
  recordings: RecordingStore;
}

/**
 * Recordings of terminals as asciicast v2 (task runs' terminals, shared terminals): the recorder, the
 * store (JetStream Object Store bucket tether_recordings on NATS, files under $TETHER_HOME/recordings on
 * the embedded store), GET /v1/recordings/{terminal} and the player page /recordings/<terminal>.
 */
export async function startRecordings(
  deps: CapabilityDeps & { terminals: TerminalAccess },
  opts: Pick<RecorderOptions, 'flushMs' | 'sweepMs'> = {},
): Promise<Recordings> {
  const { host, store, logger, config, home, terminals } = deps;
  const recordings: RecordingStore = deps.nc
    ? await ObjectStoreRecordingStore.open(deps.nc)
    : new FileRecordingStore(join(home, 'recordings'));
  const tmux = new Tmux(terminals.tmuxSocket);
  const recorder = new Recorder({
    store,
    host,
    terminals,
    recordings,
    log: logger.child({ capability: 'recordings' }),
    ownerId: deps.ownerId,
    dir: join(home, 'recordings-in-progress'),
    maxBytes: config.TETHER_RECORDING_MAX_BYTES,
    retentionMs: config.TETHER_RECORDING_RETENTION_MS,
    paneSize: (id) => tmux.paneSize(id),
    ...opts,
  });
  return {
    name: 'recordings',
    commands: {},
    preconditions: {},
    reactors: [recorder],
    routes: recordingRoutes({ host, store, recordings, inProgress: (id) => recorder.current(id) }),
    pages: recordingPages,
    recorder,
    recordings,
    stop: async () => {},
  };
}
