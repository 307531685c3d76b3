import { ACTORS_BUCKET } from '@tether/contracts';
import type { EventStore, ProjectedDoc, RouteHandler, SavedActor } from '@tether/runtime';
import { readable } from './readable.ts';
import { endedBefore } from './stream-window.ts';

/** How often a live stream checks that its credential still works. */
export const STREAM_RECHECK_MS = 1_000;

/** Entities the dashboard shows (recovery: its banner follows a run stage by stage). */
const LIVE_KINDS = new Set([
  'lane',
  'session',
  'terminal',
  'harness',
  'share',
  'approval',
  'handoff',
  'recovery',
  'taskRun',
  'liveSession',
]);

export interface StreamOptions {
  /** The snapshot leaves out actors that ended longer ago than this (TETHER_STREAM_ENDED_WINDOW_MS). */
  endedWindowMs: number;
}

/** A Last-Event-ID the stream can resume after: a revision of the actors bucket, else undefined. */
function resumeRevision(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

/**
 * GET /v1/stream: server-sent events of the read model, pushed as they land in the actors bucket. A new
 * connection gets a snapshot (every current actor of the kinds the dashboard shows, but those that ended
 * longer ago than the window), then `ready`, then every change. Each event's `id` is the bucket revision
 * it shows; a reconnect with `Last-Event-ID` gets only what changed after that revision (no snapshot),
 * then `ready` once caught up. A Last-Event-ID the bucket cannot resume after (a later revision than it
 * holds, e.g. a rebuilt read model, or no revision at all) gets `reset` first, then a snapshot.
 */
export function streamHandler(store: EventStore, opts: StreamOptions): RouteHandler {
  return async (req, reply) => {
    const ac = new AbortController();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15_000);
    // The credential is checked again while the stream runs: a revoked or expired one, or a signed-out
    // session, ends it (the browser's retry then meets the 401).
    const recheck = setInterval(() => {
      req.reauthenticate?.().catch(() => {
        res.write('event: unauthenticated\ndata: {}\n\n');
        ac.abort();
      });
    }, STREAM_RECHECK_MS);
    req.raw.on('close', () => {
      clearInterval(keepalive);
      clearInterval(recheck);
      ac.abort();
    });
    const send = (event: string, data: unknown, id?: number) =>
      res.write(`event: ${event}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    try {
      const kv = await store.kv(ACTORS_BUCKET);
      const head = await kv.head();
      const asked = resumeRevision(req.headers['last-event-id']);
      const resuming = asked !== undefined && asked <= head;
      if (req.headers['last-event-id'] !== undefined && !resuming) send('reset', {});
      // Up to the head, a snapshot leaves out deletes (nothing to delete yet) and actors that ended long ago.
      const snapshot = !resuming;
      const since = Date.now() - opts.endedWindowMs;
      let ready = false;
      const caughtUp = () => {
        ready = true;
        send('ready', {}, head);
      };
      if (head === 0 || (resuming && asked === head)) caughtUp();
      for await (const change of kv.watch<ProjectedDoc<SavedActor>>({
        signal: ac.signal,
        after: resuming ? asked : 0,
      })) {
        const kind = change.key.slice(0, change.key.indexOf('.'));
        const inSnapshot = snapshot && !ready;
        if (LIVE_KINDS.has(kind) && !(inSnapshot && (!change.value || endedBefore(change.value.value, since))))
          send(
            'actor',
            change.value
              ? readable(change.value.value)
              : { entity: kind, entityId: change.key.slice(kind.length + 1), deleted: true },
            change.revision,
          );
        if (!ready && change.revision >= head) caughtUp();
      }
    } catch (err) {
      if (!ac.signal.aborted) req.log.warn({ err: String(err) }, 'stream ended');
    } finally {
      clearInterval(keepalive);
      clearInterval(recheck);
      res.end();
    }
  };
}
