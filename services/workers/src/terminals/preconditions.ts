import { TetherError, type Command } from '@tether/contracts';
import { readActor } from '@tether/projector';
import type { ActorHost } from '@tether/runtime';

const LIVE_LANE = new Set(['ready', 'running', 'blocked', 'shared']);

/** terminal.spawn needs a live lane and a live session of that lane. */
export async function canSpawnTerminal(cmd: Command & { entityId: string }, host: ActorHost): Promise<void> {
  const { laneId, sessionId } = cmd.data as { laneId: string; sessionId: string };
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
