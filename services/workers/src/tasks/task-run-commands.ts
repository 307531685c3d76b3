import { basename } from 'node:path';
import {
  Token,
  parseData,
  TaskRunBody,
  TetherError,
  type Command,
  type LiveLinkReply,
  type TetherConfig,
} from '@tether/contracts';
import { actorOf, liveSessionIdOf, liveSessionView, readActor, taskRunView } from '@tether/projector';
import {
  commandSteps,
  settled,
  stepId,
  withSecretReply,
  type ActorHost,
  type ApplicationCommand,
  type Dispatcher,
  type Logger,
} from '@tether/runtime';

export interface TaskRunCommandDeps {
  host: ActorHost;
  dispatcher: Dispatcher;
  config: TetherConfig;
  /** This tether's installation: its task worker runs the runs it queues. */
  installationId: string;
  log?: Pick<Logger, 'warn'>;
  /** How long taskRun.run waits for its agent to start before it answers (still queued then). */
  settleMs?: number;
}

const READY_LANE = new Set(['ready', 'running', 'blocked', 'shared']);

/** The run and terminal ids of a taskRun.run: derived from its command id, so a resend names the same run. */
export const taskRunIds = (cmd: Pick<Command, 'id' | 'entityId'>) => ({
  runId: cmd.entityId ?? `tr-${stepId(cmd.id, 'run').slice(0, 16)}`,
  terminalId: `tt-${stepId(cmd.id, 'terminal').slice(0, 16)}`,
});

/**
 * taskRun.run: on a ready lane, with the lane's writer session (ensured as session.ensure does), the run
 * is queued; its live session is enabled when asked (or TETHER_LIVE_ENABLED) and tether serves live
 * sessions; the reply waits, bounded, for the agent to start, and carries the caller's own link.
 */
export function taskRunCommands(deps: TaskRunCommandDeps): Record<string, ApplicationCommand> {
  const { host, dispatcher, config } = deps;
  return {
    'taskRun.run': withSecretReply(async (cmd) => {
      const body = parseData(TaskRunBody, 'data for taskRun.run', cmd.data);
      const lane = await readActor(host, 'lane', body.lane_id);
      if (!lane)
        throw new TetherError(
          'NOT_FOUND',
          `lane ${body.lane_id} does not exist; create it first (POST /v1/workspaces/{id}/lanes)`,
        );
      if (!READY_LANE.has(String(lane.value)))
        throw new TetherError(
          'NOT_ALLOWED',
          `lane ${body.lane_id} is ${String(lane.value)}; a task run needs a ready lane (wait for it, or use another)`,
          { reason: 'LANE_NOT_READY' },
        );
      if (body.live === true && !config.TETHER_LIVE_ENABLED)
        throw new TetherError(
          'NOT_ALLOWED',
          'live sessions are off on this tether (TETHER_LIVE_ENABLED=0); send live: false (or none) to run headless',
          { reason: 'LIVE_DISABLED' },
        );
      const { runId, terminalId } = taskRunIds(cmd);
      if (!Token.safeParse(liveSessionIdOf(runId)).success)
        throw new TetherError(
          'INVALID_COMMAND',
          `task run id ${runId.slice(0, 32)}… is too long: its live session's id (ls-<run id>) must fit 128 characters; name a run id of at most 125, or none`,
          { issues: [{ path: ['entityId'], message: 'at most 125 characters' }] },
        );
      const session = await dispatcher.dispatch({
        ...cmd,
        id: stepId(cmd.id, 'session'),
        entity: 'session',
        verb: 'ensure',
        entityId: undefined,
        data: { laneId: body.lane_id, provider: 'codex' },
        causationId: cmd.id,
      });
      const live = body.live ?? config.TETHER_LIVE_ENABLED;
      const accepted = await commandSteps(host, cmd)('taskRun', 'queue', runId, {
        laneId: body.lane_id,
        name: body.name ?? (basename(body.command[0]!) || body.command[0]!),
        command: body.command,
        sessionId: session.entityId,
        terminalId,
        live,
        installationId: deps.installationId,
        correlationId: cmd.correlationId,
      });
      let link: LiveLinkReply['link'] = null;
      let endpoints: LiveLinkReply['endpoints'] = null;
      if (live && dispatcher.isApplication('liveSession', 'enable')) {
        // The run is queued: a live session that cannot start leaves it headless, never undone.
        const enabled = await dispatcher
          .dispatch({
            ...cmd,
            id: stepId(cmd.id, 'live'),
            entity: 'liveSession',
            verb: 'enable',
            entityId: undefined,
            data: { task_run_id: runId },
            causationId: cmd.id,
          })
          .catch((err: unknown) => {
            deps.log?.warn(
              { taskRunId: runId, correlationId: cmd.correlationId, err: String(err) },
              'live session not enabled: the run goes headless',
            );
            return undefined;
          });
        const r = (enabled?.result ?? {}) as Partial<LiveLinkReply>;
        link = r.link ?? null;
        endpoints = r.endpoints ?? null;
      }
      const run = actorOf('taskRun', await settled(host, 'taskRun', runId, ['queued'], deps.settleMs ?? 20_000));
      const ls = await readActor(host, 'liveSession', liveSessionIdOf(runId));
      const result: LiveLinkReply = {
        task_run: taskRunView(run, ls ? liveSessionView(ls, Date.now()) : undefined),
        link,
        endpoints,
      };
      return { ...accepted, commandId: cmd.id, result };
    }),
  };
}
