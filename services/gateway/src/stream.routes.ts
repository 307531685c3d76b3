import { ACTORS_BUCKET } from '@tether/contracts';
import { actorOf } from '@tether/projector';
import type { EventStore, ProjectedDoc, RouteHandler, SavedActor } from '@tether/runtime';

/** Entities the dashboard shows. */
const LIVE_KINDS = new Set(['lane', 'session', 'terminal', 'harness', 'share', 'approval', 'handoff']);

/** What a dashboard never needs of a share: its participants' token hashes and the sealed backend links. */
function forDashboard(a: SavedActor): SavedActor {
  if (a.entity !== 'share') return a;
  const { sealedLinks: _sealed, participants = {}, ...context } = actorOf('share', a).context;
  const safe = Object.fromEntries(Object.entries(participants).map(([id, { tokenHash: _hash, ...p }]) => [id, p]));
  return { ...a, context: { ...context, participants: safe } };
}

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
    req.raw.on('close', () => {
      clearInterval(keepalive);
      ac.abort();
    });
    try {
      const kv = await store.kv(ACTORS_BUCKET);
      let sentInitial = false;
      for await (const change of kv.watch<ProjectedDoc<SavedActor>>({ signal: ac.signal, initial: true })) {
        const kind = change.key.slice(0, change.key.indexOf('.'));
        if (!LIVE_KINDS.has(kind)) continue;
        const payload = change.value
          ? forDashboard(change.value.value)
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
      res.end();
    }
  };
}
