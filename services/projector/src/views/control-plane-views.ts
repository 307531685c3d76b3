import type { HarnessStatusView, LaneView, SessionView, TerminalView } from '@tether/contracts';
import { transportFor } from '@tether/machines';
import type { ActorOf } from './actor-reads.ts';

/** Actors as every surface shows them (HTTP, NATS results, CLI --json): the contract's snake_case views. */
export function laneView(a: ActorOf<'lane'>): LaneView {
  const c = a.context;
  return {
    lane_id: a.entityId,
    workspace_id: c.workspaceId,
    project_context_id: c.projectContextId,
    display_name: c.displayName,
    status: a.value as LaneView['status'],
    worktree_path: c.worktreePath ?? null,
    branch: c.branch ?? null,
    active_session_id: c.activeSessionId ?? null,
    error: c.error ?? null,
  };
}

export function terminalView(a: ActorOf<'terminal'>): TerminalView {
  const c = a.context;
  return {
    terminal_id: a.entityId,
    lane_id: c.laneId,
    session_id: c.sessionId,
    title: c.title ?? null,
    state: a.value as TerminalView['state'],
    tmux_session: c.tmuxSession ?? null,
    close_reason: c.closeReason ?? null,
    handoff_id: c.handoffId ?? null,
    watchers: c.watchers ?? [],
  };
}

export function harnessView(a: ActorOf<'harness'> | undefined): HarnessStatusView {
  if (!a)
    return {
      status: 'unavailable',
      transport: 'native_openai',
      fallback_transport: 'native_openai',
      degrade_reason: 'harness_not_configured: tether has not declared the harness yet',
      changed_at: null,
    };
  const c = a.context;
  const status = a.value as HarnessStatusView['status'];
  return {
    status,
    transport: transportFor(status),
    fallback_transport: 'native_openai',
    ...(status !== 'healthy' && c.degradeReason ? { degrade_reason: c.degradeReason } : {}),
    changed_at: c.changedAt,
  };
}

export function sessionView(s: ActorOf<'session'>): SessionView {
  const c = s.context;
  return {
    session_id: s.entityId,
    lane_id: c.laneId,
    codex_session_id: c.codexSessionId,
    transport: c.transport,
    status: s.value as SessionView['status'],
    diagnostics: { degrade_reason: c.degradeReason ?? null },
  };
}
