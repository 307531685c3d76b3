import { ACTORS_BUCKET } from '@tether/contracts';
import type { EventStore, ProjectedDoc, RouteHandler, SavedActor } from '@tether/runtime';
import { readable } from './readable.ts';

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

/**
 * GET /v1/stream: server-sent events of the read model. Each connection gets every current actor,
 * then every change, as it lands in the actors bucket: push, no polling.
 */
export function streamHandler(store: EventStore): RouteHandler {
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
    try {
      const kv = await store.kv(ACTORS_BUCKET);
      let sentInitial = false;
      for await (const change of kv.watch<ProjectedDoc<SavedActor>>({ signal: ac.signal, initial: true })) {
        const kind = change.key.slice(0, change.key.indexOf('.'));
        if (!LIVE_KINDS.has(kind)) continue;
        const payload = change.value
          ? readable(change.value.value)
          : { entity: kind, entityId: change.key.slice(kind.length + 1), deleted: true };
        res.write(`event: actor\ndata: ${JSON.stringify(payload)}\n\n`);
        if (!sentInitial) {
          sentInitial = true;
          res.write('event: ready\ndata: {}\n\n');
        }
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
