import { TetherError, type Command } from '@tether/contracts';
import { readActor } from '@tether/projector';
import type { ActorHost } from '@tether/runtime';

const LIVE_LANE = new Set(['ready', 'running', 'blocked', 'shared']);

/** terminal.spawn needs a live lane and a live session of that lane; a task run's terminal, its run naming it. */
export async function canSpawnTerminal(cmd: Command & { entityId: string }, host: ActorHost): Promise<void> {
  const { laneId, sessionId, taskRunId } = cmd.data as { laneId: string; sessionId: string; taskRunId?: string };
  if (taskRunId !== undefined) await isRunsOwnTerminal(cmd, host, taskRunId);
  const lane = await host.state('lane', laneId);
  if (!lane) throw new TetherError('NOT_FOUND', `lane ${laneId} does not exist`);
  if (!LIVE_LANE.has(String(lane.value)))
    throw new TetherError('NOT_ALLOWED', `lane ${laneId} is ${String(lane.value)}; terminals need a ready lane`, {
      reason: 'LANE_NOT_READY',
    });
  const session = await readActor(host, 'session', sessionId);
  if (!session) throw new TetherError('NOT_FOUND', `session ${sessionId} does not exist`);
  const sc = session.context;
  if (sc.laneId !== laneId)
    throw new TetherError('NOT_ALLOWED', `session ${sessionId} belongs to lane ${sc.laneId}, not ${laneId}`, {
      reason: 'SESSION_OF_OTHER_LANE',
    });
  if (session.value === 'terminated')
    throw new TetherError('NOT_ALLOWED', `session ${sessionId} was terminated; ensure a new session first`, {
      reason: 'SESSION_TERMINATED',
    });
}

/**
 * A terminal that shows a task run's panes is spawned only by tether's task worker, for the terminal,
 * lane and session its run names: nobody can attach a terminal of their own to someone's run.
 */
async function isRunsOwnTerminal(cmd: Command & { entityId: string }, host: ActorHost, taskRunId: string) {
  const { laneId, sessionId } = cmd.data as { laneId: string; sessionId: string };
  const run = await readActor(host, 'taskRun', taskRunId);
  if (!run) throw new TetherError('NOT_FOUND', `task run ${taskRunId} does not exist`);
  const rc = run.context;
  if (
    cmd.actor.kind !== 'system' ||
    rc.terminalId !== cmd.entityId ||
    rc.laneId !== laneId ||
    rc.sessionId !== sessionId
  )
    throw new TetherError(
      'NOT_ALLOWED',
      `terminal ${cmd.entityId} is not task run ${taskRunId}'s own terminal (that is ${rc.terminalId}, which tether spawns itself); spawn a terminal without taskRunId`,
      { reason: 'NOT_THE_RUNS_TERMINAL' },
    );
}
