import type { EntityName } from '@tether/machines';
import { actorOf, type ActorOf } from '@tether/projector';
import type { SavedActor } from '@tether/runtime';

/*
 * The invariants that span entities, as the machines, preconditions and application commands of
 * tether enforce them, checked over the actors read model once tether is idle. Each is one small
 * function returning what breaks it, in words that name the actors involved.
 */

/** Every actor of the read model, by entity and id. */
export type World = { [E in EntityName]: Map<string, ActorOf<E>> };

/** What tether was started with that an invariant depends on. */
export interface Settings {
  workspaces: string[];
  /** TETHER_HARNESS_URL, or null. */
  harnessUrl: string | null;
  maxSharesPerTerminal: number;
}

export function worldOf(actors: SavedActor[]): World {
  const world = {
    lease: new Map(),
    lane: new Map(),
    session: new Map(),
    terminal: new Map(),
    harness: new Map(),
    codexSession: new Map(),
    share: new Map(),
    approval: new Map(),
    handoff: new Map(),
    taskRun: new Map(),
    liveSession: new Map(),
  } as World;
  for (const a of actors) {
    const of = world[a.entity as EntityName] as Map<string, ActorOf<EntityName>> | undefined;
    of?.set(a.entityId, actorOf(a.entity as EntityName, a));
  }
  return world;
}

// The states the control plane's preconditions and application commands test for (ensure-session.ts,
// terminals/preconditions.ts, share-gate.ts).
const LIVE_LANE = new Set(['ready', 'running', 'blocked', 'shared']);
/** A lane whose worktree was made: a worktree that vanishes later puts it in error, sessions and all. */
const LANE_WITH_WORKTREE = new Set([...LIVE_LANE, 'error']);
const OPEN_TERMINAL = new Set(['spawning', 'active', 'throttled']);
const LIVE_SHARE = new Set(['awaitingApproval', 'starting', 'active', 'expiring']);
const STARTED_SHARE = new Set(['starting', 'active', 'expiring']);
const LIVE_HANDOFF = new Set(['awaitingApproval', 'requested', 'offered', 'transferring']);
const AGENT_RUNNING = new Set(['running', 'paused']);
const ENDED_RUN = new Set(['succeeded', 'failed', 'cancelled']);
const UP_SESSION = new Set(['starting', 'ready']);

const activeSessions = (w: World) => [...w.session.values()].filter((s) => s.value !== 'terminated');
const groupBy = <T>(items: T[], key: (t: T) => string) => {
  const out = new Map<string, T[]>();
  for (const t of items) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
  return out;
};
const ids = (xs: { entityId: string }[]) => xs.map((x) => x.entityId).join(', ');

type Invariant = (w: World, s: Settings) => string[];

export const invariants: Record<string, Invariant> = {
  'a lane has at most one active session': (w) =>
    [...groupBy(activeSessions(w), (s) => s.context.laneId)]
      .filter(([, ss]) => ss.length > 1)
      .map(([lane, ss]) => `lane ${lane} has ${ss.length} active sessions: ${ids(ss)}`),

  'a codex session id is used by at most one active session': (w) =>
    [...groupBy(activeSessions(w), (s) => s.context.codexSessionId)]
      .filter(([, ss]) => ss.length > 1)
      .map(([codex, ss]) => `codex session ${codex} is used by ${ss.length} active sessions: ${ids(ss)}`),

  "an active session is its lane's active session, in a lane with a worktree": (w) =>
    activeSessions(w).flatMap((s) => {
      const lane = w.lane.get(s.context.laneId);
      if (!lane) return [`active session ${s.entityId} names lane ${s.context.laneId}, which does not exist`];
      const out: string[] = [];
      if (lane.context.activeSessionId !== s.entityId)
        out.push(
          `active session ${s.entityId} is not the active session of its lane ${lane.entityId} (${lane.context.activeSessionId ?? 'none'})`,
        );
      if (!LANE_WITH_WORKTREE.has(String(lane.value)))
        out.push(`active session ${s.entityId} is in lane ${lane.entityId}, which is ${String(lane.value)}`);
      return out;
    }),

  'an active session holds the claim on its codex session id': (w) =>
    activeSessions(w)
      .filter((s) => {
        const claim = w.codexSession.get(s.context.codexSessionId);
        return claim?.value !== 'claimed' || claim.context.sessionId !== s.entityId;
      })
      .map((s) => {
        const claim = w.codexSession.get(s.context.codexSessionId);
        return `active session ${s.entityId} uses codex session ${s.context.codexSessionId}, whose claim is ${claim ? `${String(claim.value)} by ${claim.context.sessionId ?? 'nobody'}` : 'missing'}`;
      }),

  'a claimed codex session id is held by an active session that uses it': (w) =>
    [...w.codexSession.values()]
      .filter((c) => c.value === 'claimed')
      .filter((c) => {
        const s = c.context.sessionId ? w.session.get(c.context.sessionId) : undefined;
        return !s || s.value === 'terminated' || s.context.codexSessionId !== c.entityId;
      })
      .map(
        (c) =>
          `codex session ${c.entityId} is claimed by session ${c.context.sessionId} of lane ${c.context.laneId}, which is not an active session using it`,
      ),

  "a lane's active session exists, is active and belongs to that lane": (w) =>
    [...w.lane.values()]
      .filter((l) => l.context.activeSessionId !== undefined)
      .filter((l) => {
        const s = w.session.get(l.context.activeSessionId!);
        return !s || s.value === 'terminated' || s.context.laneId !== l.entityId;
      })
      .map(
        (l) =>
          `lane ${l.entityId} names ${l.context.activeSessionId} as its active session, which is not one of its active sessions`,
      ),

  'a session is attached or detached once tether is idle': (w) =>
    [...w.session.values()]
      .filter((s) => s.value === 'attaching')
      .map((s) => `session ${s.entityId} was left attaching`),

  'an open terminal is in a lane with a worktree and its writer is a session of that lane or the receiver of its last handoff':
    (w) =>
      [...w.terminal.values()]
        .filter((t) => OPEN_TERMINAL.has(String(t.value)))
        .flatMap((t) => {
          const lane = w.lane.get(t.context.laneId);
          const session = w.session.get(t.context.sessionId);
          const handedTo = [...w.handoff.values()].some(
            (h) =>
              h.value === 'completed' &&
              h.context.terminalId === t.entityId &&
              h.context.toSessionId === t.context.sessionId,
          );
          const out: string[] = [];
          if (!lane || !LANE_WITH_WORKTREE.has(String(lane.value)))
            out.push(
              `terminal ${t.entityId} is ${String(t.value)} in lane ${t.context.laneId}, which is ${lane ? String(lane.value) : 'missing'}`,
            );
          if (session?.context.laneId !== t.context.laneId && !handedTo)
            out.push(
              `terminal ${t.entityId} of lane ${t.context.laneId} names session ${t.context.sessionId}, which is not of that lane nor the receiver of a completed handoff`,
            );
          return out;
        }),

  'a terminal goes through one handoff at a time, and its claim names a live handoff of it': (w) => [
    ...[
      ...groupBy(
        [...w.handoff.values()].filter((h) => LIVE_HANDOFF.has(String(h.value))),
        (h) => h.context.terminalId,
      ),
    ]
      .filter(([, hs]) => hs.length > 1)
      .map(([t, hs]) => `terminal ${t} has ${hs.length} live handoffs: ${ids(hs)}`),
    ...[...w.terminal.values()]
      .filter((t) => t.context.handoffId !== undefined)
      .flatMap((t) => {
        const h = w.handoff.get(t.context.handoffId!);
        return h && LIVE_HANDOFF.has(String(h.value)) && h.context.terminalId === t.entityId
          ? []
          : [
              `terminal ${t.entityId} is claimed by handoff ${t.context.handoffId}, which is ${h ? String(h.value) : 'missing'}`,
            ];
      }),
  ],

  'a handoff that was not allowed captured nothing': (w) =>
    [...w.handoff.values()]
      .filter((h) => (h.value === 'denied' || h.value === 'awaitingApproval') && h.context.context !== undefined)
      .map((h) => `handoff ${h.entityId} is ${String(h.value)} yet holds a captured context`),

  'a terminal holds at most the configured number of share slots': (w, s) =>
    [...w.terminal.values()]
      .filter((t) => (t.context.shares ?? []).length > s.maxSharesPerTerminal)
      .map(
        (t) => `terminal ${t.entityId} holds ${t.context.shares!.length} share slots (limit ${s.maxSharesPerTerminal})`,
      ),

  'a live share holds a slot of its open terminal, in the same lane': (w) =>
    [...w.share.values()]
      .filter((sh) => LIVE_SHARE.has(String(sh.value)))
      .flatMap((sh) => {
        const t = w.terminal.get(sh.context.terminalId);
        if (!t) return [`live share ${sh.entityId} names terminal ${sh.context.terminalId}, which does not exist`];
        const out: string[] = [];
        if (!(t.context.shares ?? []).includes(sh.entityId))
          out.push(`live share ${sh.entityId} holds no slot of terminal ${t.entityId}`);
        if (!OPEN_TERMINAL.has(String(t.value)))
          out.push(`share ${sh.entityId} is ${String(sh.value)}, but its terminal ${t.entityId} is ${String(t.value)}`);
        if (t.context.laneId !== sh.context.laneId)
          out.push(`share ${sh.entityId} says lane ${sh.context.laneId}, its terminal is in lane ${t.context.laneId}`);
        return out;
      }),

  // A closed terminal keeps the list it had (shareClose has nothing left to free), so only open ones count.
  "an open terminal's slots are held by live shares of it": (w) =>
    [...w.terminal.values()]
      .filter((t) => OPEN_TERMINAL.has(String(t.value)))
      .flatMap((t) =>
        (t.context.shares ?? [])
          .filter((id) => {
            const sh = w.share.get(id);
            return !sh || !LIVE_SHARE.has(String(sh.value)) || sh.context.terminalId !== t.entityId;
          })
          .map((id) => `terminal ${t.entityId} holds a slot for share ${id}, which is not a live share of it`),
      ),

  'a share that started was allowed by the policy or approved by an operator': (w) =>
    [...w.share.values()]
      .filter((sh) => STARTED_SHARE.has(String(sh.value)) || sh.context.startedAt !== undefined)
      .filter((sh) => {
        if (sh.context.policy.effect === 'allow') return false;
        const approval = sh.context.approvalId ? w.approval.get(sh.context.approvalId) : undefined;
        return sh.context.policy.effect !== 'approval' || approval?.value !== 'approved';
      })
      .map((sh) => `share ${sh.entityId} started with policy ${sh.context.policy.effect} and no approval`),

  "a share's life stays within its maximum TTL": (w) =>
    [...w.share.values()]
      .filter((sh) => sh.context.expiresAt !== undefined)
      .filter((sh) => {
        const from = sh.context.clockAt ?? sh.context.startedAt ?? sh.context.requestedAt;
        return Date.parse(sh.context.expiresAt!) - Date.parse(from) > sh.context.maxTtlMs;
      })
      .map(
        (sh) =>
          `share ${sh.entityId} expires at ${sh.context.expiresAt}, past its maximum TTL ${sh.context.maxTtlMs} ms`,
      ),

  'only participants of a write share may type': (w) =>
    [...w.share.values()]
      .filter((sh) => sh.context.access !== 'write')
      .flatMap((sh) =>
        Object.entries(sh.context.participants)
          .filter(([, p]) => p.access === 'write')
          .map(([id]) => `participant ${id} of the read-only share ${sh.entityId} may type`),
      ),

  'an approval belongs to a share or handoff a policy rule held, and a human other than the requester decided it': (
    w,
  ) =>
    [...w.approval.values()].flatMap((a) => {
      const out: string[] = [];
      const { shareId, handoffId } = a.context;
      const held = shareId ? w.share.get(shareId) : handoffId ? w.handoff.get(handoffId) : undefined;
      if (held?.context.policy.effect !== 'approval')
        out.push(
          `approval ${a.entityId} is for ${shareId ? `share ${shareId}` : `handoff ${handoffId}`}, which no policy rule held`,
        );
      const requester = `${a.context.requestedBy.kind}:${a.context.requestedBy.id}`;
      if (
        (a.value === 'approved' || a.value === 'denied') &&
        (!a.context.decidedBy?.startsWith('human:') || a.context.decidedBy === requester)
      )
        out.push(`approval ${a.entityId} was ${String(a.value)} by ${a.context.decidedBy}, requested by ${requester}`);
      return out;
    }),

  'the one harness route is the one tether declares, at the configured url': (w, s) =>
    [...w.harness.values()]
      .filter((h) => h.entityId !== 'cliproxy' || h.context.url !== s.harnessUrl)
      .map((h) =>
        h.entityId === 'cliproxy'
          ? `harness cliproxy points at ${h.context.url}, not the configured ${s.harnessUrl}`
          : `harness ${h.entityId} exists, but tether declares only cliproxy`,
      ),

  "a running task run's agent is in its own open terminal, which names the run": (w) =>
    [...w.taskRun.values()]
      .filter((r) => AGENT_RUNNING.has(String(r.value)))
      .flatMap((r) => {
        const t = w.terminal.get(r.context.terminalId);
        if (!t || !OPEN_TERMINAL.has(String(t.value)))
          return [
            `task run ${r.entityId} is ${String(r.value)}, its terminal ${r.context.terminalId} is ${t ? String(t.value) : 'missing'}`,
          ];
        return t.context.taskRunId === r.entityId
          ? []
          : [`task run ${r.entityId} runs in terminal ${t.entityId}, which names run ${t.context.taskRunId ?? 'none'}`];
      }),

  "a live session is up only while its run has not ended, and a ready one is served by a live share of the run's terminal":
    (w) =>
      [...w.liveSession.values()]
        .filter((l) => UP_SESSION.has(String(l.value)))
        .flatMap((l) => {
          const run = w.taskRun.get(l.context.taskRunId);
          const out: string[] = [];
          if (!run || ENDED_RUN.has(String(run.value)))
            out.push(
              `live session ${l.entityId} is ${String(l.value)}, its run ${l.context.taskRunId} is ${run ? String(run.value) : 'missing'}`,
            );
          if (run && run.context.terminalId !== l.context.terminalId)
            out.push(
              `live session ${l.entityId} names terminal ${l.context.terminalId}, its run's is ${run.context.terminalId}`,
            );
          if (l.value === 'ready') {
            const share = l.context.shareId ? w.share.get(l.context.shareId) : undefined;
            if (!share || !STARTED_SHARE.has(String(share.value)) || share.context.terminalId !== l.context.terminalId)
              out.push(
                `live session ${l.entityId} is ready, its share ${l.context.shareId ?? 'none'} is ${share ? `${String(share.value)} on terminal ${share.context.terminalId}` : 'missing'}`,
              );
          }
          return out;
        }),

  'a lane is in a configured workspace': (w, s) =>
    [...w.lane.values()]
      .filter((l) => !s.workspaces.includes(l.context.workspaceId))
      .map((l) => `lane ${l.entityId} is in workspace ${l.context.workspaceId}, which is not configured`),
};

/** Every broken invariant, by name, with what breaks it; empty when all hold. */
export function violations(w: World, s: Settings): string[] {
  return Object.entries(invariants).flatMap(([name, check]) => check(w, s).map((why) => `${name}: ${why}`));
}
