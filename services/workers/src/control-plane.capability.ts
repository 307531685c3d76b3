import { join } from 'node:path';
import type { Capability, CapabilityDeps } from '@tether/runtime';
import { controlPlaneRoutes } from './control-plane.routes.ts';
import { HarnessMonitor } from './harness/harness-monitor.ts';
import { LaneWorker } from './lanes/lane-worker.ts';
import { Workspaces } from './lanes/workspaces.ts';
import { ensureSession } from './sessions/ensure-session.ts';
import { SessionReaper } from './sessions/session-reaper.ts';
import { canSpawnTerminal } from './terminals/preconditions.ts';
import { followTerminal, LocalTerminalIO, NatsTerminalIO, type TerminalIO } from './terminals/terminal-io.ts';
import { TerminalWorker } from './terminals/terminal-worker.ts';

/** Whether input `from` someone other than the terminal's session (a share participant) may reach it. */
export type WriteCheck = (terminalId: string, from: string) => Promise<boolean> | boolean;

/** What other capabilities get of the terminals: their bytes, where tmux runs them, and a say in who may type. */
export interface TerminalAccess {
  /** A terminal's output from wherever it runs: its scrollback, then live chunks. */
  follow(terminalId: string, onChunk: (chunk: Uint8Array) => void): Promise<{ stop(): void }>;
  /** Input goes over tether.term.<id>.in like any writer's; the terminal checks `from` again. */
  sendInput(terminalId: string, data: string, from: string): void;
  /** tmux's socket (share backends attach their own client to it). */
  tmuxSocket: string;
  /** Adds a check that may let input from a non-session writer through (any check saying yes does). */
  allowWriters(check: WriteCheck): void;
}

export interface ControlPlane extends Capability {
  terminals: TerminalAccess;
}

/** Lanes (git worktrees), sessions, terminals (tmux) and the harness route: seed 004's control plane. */
export async function startControlPlane(deps: CapabilityDeps): Promise<ControlPlane> {
  const { host, store, send, logger, env, home, dispatcher } = deps;
  const workspaces = new Workspaces(env.TETHER_WORKSPACES, process.cwd(), join(home, 'worktrees'));
  const io: TerminalIO = deps.nc ? new NatsTerminalIO(deps.nc) : new LocalTerminalIO();
  const writeChecks: WriteCheck[] = [];
  const terminals = new TerminalWorker(store, host, send, io, logger, {
    dir: join(home, 'terminals'),
    ownerId: deps.ownerId,
    maxBytesPerSec: Number(env.TETHER_TERMINAL_MAX_BPS ?? 2_000_000),
    mayWrite: async (terminalId, from) => {
      for (const check of writeChecks) if (await check(terminalId, from)) return true;
      return false;
    },
  });
  const harness = new HarnessMonitor(host, send, logger, {
    url: env.TETHER_HARNESS_URL || null,
    healthUrl: env.TETHER_HARNESS_HEALTH_URL || undefined,
    everyMs: Number(env.TETHER_HARNESS_CHECK_MS ?? 5_000),
    slowMs: Number(env.TETHER_HARNESS_SLOW_MS ?? 2_000),
    cooldownMs: Number(env.TETHER_HARNESS_COOLDOWN_MS ?? 10_000),
  });
  return {
    name: 'control-plane',
    commands: {
      'session.ensure': ensureSession(host, { heartbeatTimeoutMs: Number(env.TETHER_SESSION_HEARTBEAT_MS ?? 60_000) }),
    },
    preconditions: {
      'terminal.spawn': canSpawnTerminal,
      'lane.create': async (cmd) => void workspaces.get((cmd.data as { workspaceId: string }).workspaceId),
    },
    reactors: [
      new LaneWorker(store, send, workspaces, logger),
      new SessionReaper(store, host, send, logger),
      terminals,
      harness,
    ],
    routes: controlPlaneRoutes({
      dispatcher,
      host,
      store,
      workspaces,
      checkHarness: env.TETHER_HARNESS_URL ? () => harness.checkNow() : undefined,
    }),
    terminals: {
      follow: (terminalId, onChunk) => followTerminal(io, terminalId, onChunk),
      sendInput: (terminalId, data, from) => io.sendInput(terminalId, { data, from }),
      tmuxSocket: terminals.tmux.socket,
      allowWriters: (check) => void writeChecks.push(check),
    },
    stop: async () => {},
  };
}
