import { assertAllowed, parseActorRef, TetherError, type Actor } from '@tether/contracts';
import { isLiveShare } from '@tether/machines';
import { listActorsOf, liveSessionIdOf, readActor } from '@tether/projector';
import { principalOf, type ActorHost, type EventStore, type Routes } from '@tether/runtime';
import { checkRecordingId, type RecordingStore } from './recording-store.ts';

interface Deps {
  host: ActorHost;
  store: EventStore;
  recordings: RecordingStore;
  /** A recording this tether is making: what it holds so far (the store has it only up to its last flush). */
  inProgress: (terminalId: string) => Uint8Array | undefined;
}

/**
 * GET /v1/recordings/{terminal}: the asciicast v2 of a terminal, named by its id or by its task run's.
 * Played by operators, and by those allowed to watch the terminal (rule watchers-play-recordings).
 */
export function recordingRoutes(deps: Deps): Routes {
  return {
    'recordings.get': async (req, reply) => {
      const name = req.params.terminal!;
      checkRecordingId(name);
      const terminalId = await terminalOf(deps.host, name);
      assertAllowed({
        principal: principalOf(req),
        entity: 'recording',
        verb: 'play',
        watchers: await watchersOf(deps, terminalId),
      });
      const body = deps.inProgress(terminalId) ?? (await deps.recordings.get(terminalId));
      if (!body)
        throw new TetherError(
          'NOT_FOUND',
          `no recording of ${terminalId === name ? `terminal ${name}` : `task run ${name} (terminal ${terminalId})`}: tether records a task run's terminal and a terminal while it is shared; it may also be past TETHER_RECORDING_RETENTION_MS`,
        );
      return reply
        .type('application/x-asciicast')
        .headers({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
        .send(Buffer.from(body));
    },
  };
}

/** A task run id stands for its terminal; anything else is taken as a terminal id. */
async function terminalOf(host: ActorHost, name: string): Promise<string> {
  const run = await readActor(host, 'taskRun', name).catch(() => undefined);
  return run?.context.terminalId || name;
}

/** Who may watch the terminal: its shares' owners and their participants invited by name, its live session's grantees. */
async function watchersOf(deps: Deps, terminalId: string): Promise<Actor[]> {
  // Shares still up only: someone invited to a share that ended may not play what came after it.
  const shares = await listActorsOf(
    deps.store,
    'share',
    (s) => s.context.terminalId === terminalId && isLiveShare(s.value),
  );
  const out: Actor[] = [];
  for (const s of shares) {
    out.push(s.context.owner);
    for (const p of Object.values(s.context.participants)) if (!p.kicked) out.push(parseActorRef(p.name));
  }
  const runs = await listActorsOf(deps.store, 'taskRun', (r) => r.context.terminalId === terminalId);
  for (const r of runs) {
    const live = await readActor(deps.host, 'liveSession', liveSessionIdOf(r.entityId)).catch(() => undefined);
    for (const g of live?.context.grants ?? []) out.push(g.to);
  }
  return out;
}
