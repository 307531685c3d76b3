import { join, resolve } from 'node:path';
import type { Capability, CapabilityDeps, TerminalAccess, WriteCheck } from '@tether/runtime';
import { controlPlaneRoutes } from './control-plane.routes.ts';
import { HarnessMonitor } from './harness/harness-monitor.ts';
import { LaneWorker } from './lanes/lane-worker.ts';
import { Workspaces } from './lanes/workspaces.ts';
import { ensureSession } from './sessions/ensure-session.ts';
import { SessionReaper } from './sessions/session-reaper.ts';
import { canSpawnTerminal } from './terminals/preconditions.ts';
import { followTerminal, LocalTerminalIO, NatsTerminalIO, type TerminalIO } from './terminals/terminal-io.ts';
import { shellProcess } from './terminals/shell-process.ts';
import { TerminalWorker } from './terminals/terminal-worker.ts';
import { taskTmuxSocket } from './tasks/task-files.ts';

export interface ControlPlane extends Capability {
  terminals: TerminalAccess;
  /** The workers themselves, for crash recovery (reattach, respawn, lane re-inventory). */
  terminalWorker: TerminalWorker;
  laneWorker: LaneWorker;
  workspaces: Workspaces;
}

/** Lanes (git worktrees), sessions, terminals (tmux) and the harness route: seed 004's control plane. */
export async function startControlPlane(deps: CapabilityDeps): Promise<ControlPlane> {
  const { host, store, send, logger, config, home, dispatcher } = deps;
  const workspaces = new Workspaces(config.TETHER_WORKSPACES, process.cwd(), join(home, 'worktrees'));
  const io: TerminalIO = deps.nc ? new NatsTerminalIO(deps.nc) : new LocalTerminalIO();
  const writeChecks: WriteCheck[] = [];
  const terminals = new TerminalWorker(store, host, send, io, logger, {
    dir: join(home, 'terminals'),
    ownerId: deps.ownerId,
    shell: config.TETHER_SHELL,
    maxBytesPerSec: config.TETHER_TERMINAL_MAX_BPS,
    taskSocket: taskTmuxSocket(home),
    cliEnv: () => ({ ...(deps.baseUrl() ? { TETHER_URL: deps.baseUrl() } : {}), TETHER_HOME: resolve(home) }),
    mayWrite: async (terminalId, from) => {
      for (const check of writeChecks) if (await check(terminalId, from)) return true;
      return false;
    },
  });
  const harness = new HarnessMonitor(host, send, logger, {
    url: config.TETHER_HARNESS_URL ?? null,
    healthUrl: config.TETHER_HARNESS_HEALTH_URL,
    everyMs: config.TETHER_HARNESS_CHECK_MS,
    slowMs: config.TETHER_HARNESS_SLOW_MS,
    cooldownMs: config.TETHER_HARNESS_COOLDOWN_MS,
  });
  const lanes = new LaneWorker(store, send, workspaces, logger);
  // One startup line for the harness subsystem: which harness sessions use, or that there is none.
  if (config.TETHER_HARNESS_URL)
    logger.info(
      {
        subsystem: 'harness',
        harness: 'cliproxy',
        url: config.TETHER_HARNESS_URL,
        healthUrl: config.TETHER_HARNESS_HEALTH_URL,
      },
      `harness: cliproxy at ${config.TETHER_HARNESS_URL} (sessions use it while it is healthy, native_openai otherwise)`,
    );
  else
    logger.info(
      { subsystem: 'harness', harness: null },
      'harness: no harness configured (sessions use native_openai; set TETHER_HARNESS_URL for the cliproxy harness)',
    );
  return {
    name: 'control-plane',
    terminalWorker: terminals,
    laneWorker: lanes,
    workspaces,
    commands: {
      'session.ensure': ensureSession(host, { heartbeatTimeoutMs: config.TETHER_SESSION_HEARTBEAT_MS }),
    },
    preconditions: {
      'terminal.spawn': canSpawnTerminal,
      'lane.create': async (cmd) => void workspaces.get((cmd.data as { workspaceId: string }).workspaceId),
    },
    reactors: [lanes, new SessionReaper(store, host, send, logger), terminals],
    nonEssential: [harness],
    routes: controlPlaneRoutes({
      dispatcher,
      host,
      store,
      workspaces,
      checkHarness: config.TETHER_HARNESS_URL ? () => harness.checkNow() : undefined,
    }),
    terminals: {
      follow: (terminalId, onChunk) => followTerminal(io, terminalId, onChunk),
      sendInput: (terminalId, data, from) => io.sendInput(terminalId, { data, from }),
      resize: (terminalId, size, from) => io.sendResize(terminalId, { ...size, from }),
      size: (terminalId) => io.requestSize(terminalId),
      onSize: (terminalId, handler) => io.onSize(terminalId, handler),
      tmuxSocket: terminals.tmux.socket,
      allowWriters: (check) => void writeChecks.push(check),
      scrollback: (terminalId) => io.requestScrollback(terminalId),
      shell: async (terminalId) => shellProcess(await terminals.tmux.panePid(terminalId)),
      hold: (terminalId) => terminals.hold(terminalId),
      unhold: (terminalId) => terminals.unhold(terminalId),
      showStatus: (terminalId, format) => terminals.showStatus(terminalId, format),
    },
    stop: async () => {},
  };
}
