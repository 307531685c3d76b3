import { ActorList, ActorState, AuditList, CommandAccepted } from '@tether/contracts';
import { bearer, type Tether } from './control-plane.ts';

// Lanes whose worktrees are being made when tether or NATS goes away, and what "caught up" means for them:
// used by the resume tests and the bench's effectsResume figures.

/** Sends `n` lane.create commands to `url` at once (answered on append, before the worktree exists); their ids. */
export async function createLanes(t: Tether, workspaceId: string, n: number, tag = 'resume'): Promise<string[]> {
  const replies = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${t.url}/v1/commands/lane/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(t) },
        body: JSON.stringify({ data: { workspaceId, projectContextId: tag, displayName: `${tag} ${i}` } }),
      });
      return CommandAccepted.parse(await res.json());
    }),
  );
  return replies.map((r) => r.entityId);
}

/** Each lane's state as its events say (GET /v1/entities/lane/{id}); undefined while tether cannot answer. */
export async function laneStates(t: Tether, ids: string[]): Promise<(string | undefined)[]> {
  return Promise.all(
    ids.map(async (id) => {
      const res = await fetch(`${t.url}/v1/entities/lane/${id}`, {
        headers: bearer(t),
        signal: AbortSignal.timeout(5_000),
      }).catch(() => undefined);
      if (res?.status !== 200) return undefined;
      return String(ActorState.parse(await res.json()).value);
    }),
  );
}

/** Whether the effects and the read models of `ids` have caught up: every lane ready by its events, in the list, and audited. */
export async function lanesCaughtUp(
  t: Tether,
  ids: string[],
): Promise<{ ready: number; listed: number; audited: number }> {
  const states = await laneStates(t, ids);
  const ready = states.filter((s) => s === 'ready').length;
  const listed = await fetchJson(t, '/v1/entities/lane', ActorList).then(
    (l) => l?.items.filter((a) => ids.includes(a.entityId) && a.value === 'ready').length ?? 0,
  );
  let audited = 0;
  for (const id of ids) {
    const records = await fetchJson(t, `/v1/audit?entity=lane&entity_id=${id}`, AuditList);
    if (records?.items.some((r) => r.action === 'lane.provisioned')) audited++;
  }
  return { ready, listed, audited };
}

async function fetchJson<T>(t: Tether, path: string, schema: { parse(v: unknown): T }): Promise<T | undefined> {
  const res = await fetch(t.url + path, { headers: bearer(t), signal: AbortSignal.timeout(5_000) }).catch(
    () => undefined,
  );
  return res?.status === 200 ? schema.parse(await res.json()) : undefined;
}
