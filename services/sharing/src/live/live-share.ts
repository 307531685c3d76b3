import { TetherError, type Command, type PolicyDecision, type VerbData, type shareContract } from '@tether/contracts';
import { readActor } from '@tether/projector';
import type { ActorHost } from '@tether/runtime';

type ShareRequest = VerbData<typeof shareContract, 'request'>;

/** The share that serves a live session: derived from its id, so a retried start names the same share. */
export const liveShareIdOf = (liveSessionId: string) => `sh-${liveSessionId}`;

/** The rule a live session's share is allowed by (the share policy's default denies write shares). */
export const LIVE_SHARE_RULE = 'live-session';

/** The verdict recorded on a live session's share: allowed by the TETHER_LIVE_* settings, read-only first. */
export const liveShareVerdict = (liveSessionId: string, taskRunId: string): PolicyDecision => ({
  effect: 'allow',
  ruleId: LIVE_SHARE_RULE,
  reason: `live session ${liveSessionId} of task run ${taskRunId} (TETHER_LIVE_ENABLED, TETHER_LIVE_PROVIDER, TETHER_LIVE_TTL): participants watch read-only; write only by a grant that expires (TETHER_LIVE_RW_TTL)`,
});

/**
 * Host precondition of a share.request that names a live session: the narrow exception to the share
 * policy holds only for that session's own share, while it starts, of its own run's terminal, as its
 * settings say. Nobody can bring it to another terminal, another share id or a session that is up.
 */
export async function checkLiveShare(cmd: Command & { entityId: string }, host: ActorHost): Promise<void> {
  const req = cmd.data as ShareRequest;
  const id = req.liveSessionId!;
  const refuse = (why: string) => {
    throw new TetherError('NOT_ALLOWED', `share ${cmd.entityId} cannot serve live session ${id}: ${why}`, {
      reason: 'LIVE_SHARE_MISMATCH',
    });
  };
  const ls = await readActor(host, 'liveSession', id);
  if (!ls) return refuse('there is no such live session');
  const c = ls.context;
  if (ls.value !== 'starting') refuse(`the session is ${String(ls.value)}, not starting`);
  if (c.terminalId !== req.terminalId) refuse(`the session watches terminal ${c.terminalId}, not ${req.terminalId}`);
  if (cmd.entityId !== liveShareIdOf(id)) refuse(`its share is ${liveShareIdOf(id)}`);
  if (req.backend !== c.provider) refuse(`the session is served by ${c.provider}, not ${req.backend}`);
  if (req.access !== 'write') refuse('a live session share is a write share whose participants start read-only');
  if ((req.web ?? true) !== c.allowWeb) refuse(`its web viewers are ${c.allowWeb ? 'allowed' : 'refused'}`);
  const verdict = liveShareVerdict(id, c.taskRunId);
  if (req.policy.effect !== verdict.effect || req.policy.ruleId !== verdict.ruleId)
    refuse(`its verdict is "${verdict.effect}" by rule ${verdict.ruleId}`);
}
