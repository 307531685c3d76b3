import { describe, expect, it } from 'vitest';
import { LaneView, ShareCreated } from '@tether/contracts';
import { api, bearer, eventually, openSse, useControlPlane, type SseEvent } from '../harness/index.ts';
import { as, createShare, runningTerminal } from '../sharing/helpers.ts';

// GET /v1/stream at the HTTP level: snapshot then `ready`, an id per event, Last-Event-ID resumes without a
// snapshot or a duplicate, and actors that ended longer ago than the window are left out of the snapshot.
const WINDOW_MS = 4_000;
const cp = useControlPlane({ TETHER_STREAM_ENDED_WINDOW_MS: `${WINDOW_MS}ms` });

type Sse = SseEvent<{ entity?: string; entityId?: string; value?: unknown; deleted?: boolean }>;

/** One open stream, with Last-Event-ID when given. */
async function open(lastEventId?: number | string) {
  const s = await openSse<Sse['data']>(`${cp.url}/v1/stream`, {
    ...bearer(cp),
    ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}),
  });
  expect(s.status).toBe(200);
  return s;
}

const hasReady = (es: Sse[]) => es.some((e) => e.event === 'ready');
const beforeReady = (es: Sse[]) =>
  es.slice(
    0,
    es.findIndex((e) => e.event === 'ready'),
  );
const ids = (es: Sse[]) => es.map((e) => e.id!);
const lane = async (name: string) =>
  LaneView.parse(
    (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: name })).body,
  );

describe('GET /v1/stream', () => {
  it('sends every current actor, then ready; each event carries its revision as id, in order', async () => {
    const [a, b] = [await lane('stream a'), await lane('stream b')];
    const s = await open();
    const events = await s.until(hasReady);
    s.close();
    const snapshot = beforeReady(events);
    const ready = events.find((e) => e.event === 'ready')!;
    // Both lanes are in the snapshot, ahead of ready; so is every lane the API lists.
    const lanesShown = snapshot.filter((e) => e.data.entity === 'lane').map((e) => e.data.entityId);
    expect(lanesShown).toEqual(expect.arrayContaining([a.lane_id, b.lane_id]));
    const listed = (await api<{ items: { entityId: string }[] }>(cp, 'GET', '/v1/entities/lane')).body.items;
    expect(lanesShown.sort()).toEqual(listed.map((l) => l.entityId).sort());
    expect(snapshot.every((e) => e.event === 'actor' && Number.isInteger(e.id))).toBe(true);
    expect(ids(snapshot)).toEqual([...ids(snapshot)].sort((x, y) => x - y));
    expect(new Set(ids(snapshot)).size).toBe(snapshot.length);
    expect(ready.id).toBeGreaterThanOrEqual(Math.max(...ids(snapshot)));
  });

  it('a reconnect with Last-Event-ID gets only what changed after it, once, and no snapshot', async () => {
    const old = await lane('stream before');
    const first = await open();
    await first.until(hasReady);
    const during = await lane('stream during');
    await first.until((es) => es.some((e) => e.data.entityId === during.lane_id && e.data.value === 'ready'));
    const lastId = first.events.at(-1)!.id!;
    first.close();

    // While away: a new lane, and the one seen before ends.
    const away = await lane('stream away');
    await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${during.lane_id}/cleanup`, {});
    await eventually(
      async () => (await api<LaneView>(cp, 'GET', `/v1/workspaces/ws1/lanes/${during.lane_id}`)).body.status,
      (s) => s === 'closed',
    );
    const again = await open(lastId);
    const resumed = beforeReady(await again.until(hasReady));
    again.close();
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.every((e) => e.event === 'actor' && e.id! > lastId)).toBe(true);
    expect(ids(resumed)).toEqual([...ids(resumed)].sort((x, y) => x - y));
    // Each actor once (its state as it is now), none that did not change: no snapshot.
    const keys = resumed.map((e) => `${e.data.entity}.${e.data.entityId}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).not.toContain(`lane.${old.lane_id}`);
    expect(resumed.find((e) => e.data.entityId === away.lane_id)?.data.value).toBe('ready');
    expect(resumed.find((e) => e.data.entityId === during.lane_id)?.data.value).toBe('closed');

    // Caught up already: ready at once, nothing else.
    const head = resumed.at(-1)!.id!;
    const idle = await open(head);
    expect((await idle.until(hasReady)).map((e) => e.event)).toEqual(['ready']);
    idle.close();
  });

  it('a Last-Event-ID it cannot resume after gets reset, then a snapshot', async () => {
    for (const bad of [Number.MAX_SAFE_INTEGER, 'not-a-revision']) {
      const s = await open(bad);
      const events = await s.until(hasReady);
      s.close();
      expect(events[0]?.event).toBe('reset');
      expect(events.filter((e) => e.data.entity === 'lane').length).toBeGreaterThan(0);
    }
  });

  it('leaves out of the snapshot what ended longer ago than the window: a closed lane, its terminal, session and share', async () => {
    const { lane: gone, session, term } = await runningTerminal(cp);
    const { share } = ShareCreated.parse((await createShare(cp, 'human:ops', { terminal_id: term.terminal_id })).body);
    expect((await as(cp, 'human:ops', 'POST', `/v1/shares/${share.share_id}/revoke`, {})).status).toBe(200);
    await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${gone.lane_id}/cleanup`, {});
    const closed = await eventually(
      async () => (await api<LaneView>(cp, 'GET', `/v1/workspaces/ws1/lanes/${gone.lane_id}`)).body,
      (l) => l.status === 'closed',
    );
    const goneIds = [gone.lane_id, session.session_id, term.terminal_id, share.share_id];
    const shown = async () => {
      const s = await open();
      const events = beforeReady(await s.until(hasReady));
      s.close();
      return events.map((e) => e.data.entityId);
    };
    // Just ended: still in the snapshot (the lane at least; its parts end around it).
    expect(await shown()).toContain(gone.lane_id);
    expect(closed.status).toBe('closed');
    // Once the window has passed, none of them.
    await new Promise((r) => setTimeout(r, WINDOW_MS + 500));
    const later = await shown();
    expect(later.filter((id) => goneIds.includes(id!))).toEqual([]);
    // A lane still open is there, and the API still lists the old ones.
    expect(later.length).toBeGreaterThan(0);
    expect((await api<LaneView>(cp, 'GET', `/v1/workspaces/ws1/lanes/${gone.lane_id}`)).body.status).toBe('closed');
  });
});
