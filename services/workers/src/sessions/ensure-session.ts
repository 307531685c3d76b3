import {
  invalid,
  sessionEnsure,
  TetherError,
  type Command,
  type CommandAccepted,
  type Transport,
} from '@tether/contracts';
import { transportFor } from '@tether/machines';
import { actorOf, readActor, sessionView } from '@tether/projector';
import {
  commandSteps,
  uuid,
  type ActorHost,
  type ApplicationCommand,
  type IdGenerator,
  type SavedActor,
} from '@tether/runtime';

export const HARNESS_ID = 'cliproxy';
const LIVE_LANE = new Set(['ready', 'running', 'blocked', 'shared']);

/** Which transport a new session gets, and why: explicit, never a silent fallback. */
export async function chooseTransport(
  host: ActorHost,
  preferred: Transport | undefined,
): Promise<{ transport: Transport; degradeReason?: string }> {
  if (preferred === 'native_openai')
    return { transport: 'native_openai', degradeReason: 'requested: preferred_transport native_openai' };
  const harness = await readActor(host, 'harness', HARNESS_ID);
  if (!harness)
    return { transport: 'native_openai', degradeReason: 'harness_not_configured: no cliproxy harness declared' };
  const transport = transportFor(harness.value as never);
  const why = harness.context.degradeReason;
  return transport === 'cliproxy_harness'
    ? { transport }
    : { transport, degradeReason: `harness_${String(harness.value)}: ${why ?? 'unknown'}` };
}

/**
 * session.ensure: the lane's active session if it has one, else a new one. The lane arbitrates a race
 * (bindSession is accepted once, by OCC on the lane), the codexSession entity keeps one codex id to
 * one active session across lanes; a crash between steps is repaired by the next ensure.
 */
export function ensureSession(
  host: ActorHost,
  opts: { heartbeatTimeoutMs?: number; ids?: IdGenerator } = {},
): ApplicationCommand {
  const ids = opts.ids ?? uuid;
  return async (cmd: Command): Promise<CommandAccepted> => {
    const parsed = sessionEnsure.data.safeParse(cmd.data ?? {});
    if (!parsed.success) {
      throw invalid(`invalid data for session.ensure`, parsed.error);
    }
    const req = parsed.data;
    const step = commandSteps(host, cmd);

    for (let attempt = 0; attempt < 5; attempt++) {
      const lane = await readActor(host, 'lane', req.laneId);
      if (!lane) throw new TetherError('NOT_FOUND', `lane ${req.laneId} does not exist`);
      if (!LIVE_LANE.has(String(lane.value))) {
        throw new TetherError(
          'NOT_ALLOWED',
          `lane ${req.laneId} is ${String(lane.value)}; sessions need a ready lane`,
          { reason: 'LANE_NOT_READY' },
        );
      }
      const lc = lane.context;
      if (lc.activeSessionId) {
        const existing = await readActor(host, 'session', lc.activeSessionId);
        if (existing && existing.value !== 'terminated') {
          const c = existing.context;
          if (req.codexSessionId && req.codexSessionId !== c.codexSessionId) {
            throw new TetherError(
              'NOT_ALLOWED',
              `lane ${req.laneId} already runs session ${existing.entityId} on codex session ${c.codexSessionId}; terminate it to switch codex sessions`,
              { reason: 'SESSION_ACTIVE' },
            );
          }
          if (existing.value === 'attached') return answer(cmd, existing, true);
          if (existing.value === 'detached') {
            // Re-attach, on whatever route the harness offers now.
            const route = await chooseTransport(host, req.preferredTransport);
            await step('session', 'attach', existing.entityId, {
              transport: route.transport,
              ...(route.degradeReason ? { degradeReason: route.degradeReason } : {}),
            }).catch(ignore('NOT_ALLOWED'));
          }
          // Detached just now, or left attaching by an ensure that stopped half way: finish attaching.
          await step('session', 'attached', existing.entityId, {}).catch(ignore('NOT_ALLOWED'));
          return answer(cmd, (await host.state('session', existing.entityId))!, true);
        }
        if (existing) {
          await step('lane', 'unbindSession', req.laneId, { sessionId: existing.entityId }).catch(
            ignore('NOT_ALLOWED'),
          );
          continue;
        }
        // Bound but never created: an earlier ensure stopped half way. Finish its work.
        return answer(cmd, await createAndAttach(lc.activeSessionId, lc.codexSessionId ?? ids()), false);
      }

      const sessionId = ids();
      const codexSessionId = req.codexSessionId ?? lc.codexSessionId ?? ids();
      await releaseIfStale(codexSessionId);
      await step('codexSession', 'claim', codexSessionId, { laneId: req.laneId, sessionId });
      try {
        await step('lane', 'bindSession', req.laneId, { sessionId, codexSessionId });
      } catch (err) {
        await step('codexSession', 'release', codexSessionId, { sessionId }).catch(ignore('NOT_ALLOWED'));
        if (err instanceof TetherError && err.reason === 'SESSION_ACTIVE') continue; // lost the race: answer the winner's session
        throw err;
      }
      return answer(cmd, await createAndAttach(sessionId, codexSessionId), false);
    }
    throw new TetherError(
      'CONFLICT',
      `lane ${req.laneId} kept changing its session; resend the command with the same id`,
    );

    /**
     * A claim whose session was never bound to its lane (an ensure that stopped between the two
     * steps) or has ended holds the codex id for nobody: release it.
     */
    async function releaseIfStale(codexSessionId: string): Promise<void> {
      const claim = await readActor(host, 'codexSession', codexSessionId);
      const holder = claim?.context ?? {};
      if (claim?.value !== 'claimed' || !holder.sessionId || !holder.laneId) return;
      const holderSession = await host.state('session', holder.sessionId);
      const holderLane = await readActor(host, 'lane', holder.laneId);
      const bound = holderLane?.context.activeSessionId === holder.sessionId;
      if (holderSession?.value === 'terminated' || (!holderSession && !bound)) {
        await step('codexSession', 'release', codexSessionId, { sessionId: holder.sessionId }).catch(
          ignore('NOT_ALLOWED'),
        );
      }
    }

    async function createAndAttach(sessionId: string, codexSessionId: string): Promise<SavedActor> {
      const { transport, degradeReason } = await chooseTransport(host, req.preferredTransport);
      await step('session', 'create', sessionId, {
        laneId: req.laneId,
        codexSessionId,
        provider: req.provider,
        transport,
        ...(degradeReason ? { degradeReason } : {}),
        ...(opts.heartbeatTimeoutMs ? { heartbeatTimeoutMs: opts.heartbeatTimeoutMs } : {}),
      }).catch(ignore('ALREADY_EXISTS'));
      await step('session', 'attached', sessionId, {}).catch(ignore('NOT_ALLOWED'));
      return (await host.state('session', sessionId))!;
    }
  };
}

function answer(cmd: Command, s: SavedActor, existing: boolean): CommandAccepted {
  return {
    ok: true,
    commandId: cmd.id,
    entity: 'session',
    entityId: s.entityId,
    seq: s.version,
    streamSeq: s.streamSeq,
    state: s.value as CommandAccepted['state'],
    correlationId: cmd.correlationId,
    duplicate: false,
    result: { ...sessionView(actorOf('session', s)), existing },
  };
}

/** Swallows a rejection that means "already done" for an idempotent step. */
const ignore = (code: string) => (err: unknown) => {
  if (err instanceof TetherError && err.code === code) return undefined;
  throw err;
};
