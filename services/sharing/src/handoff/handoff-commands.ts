import {
  parseActorRef,
  HandoffRequestBody,
  invalid,
  sameActor,
  TetherError,
  type Command,
  type VerbData,
  type handoffContract,
} from '@tether/contracts';
import { isLiveHandoff } from '@tether/machines';
import { handoffView, readActor } from '@tether/projector';
import { commandSteps, stepId, type ActorHost, type ApplicationCommand, type Precondition } from '@tether/runtime';
import type { ShareGate } from '../share-gate.ts';

export interface HandoffCommandDeps {
  host: ActorHost;
  gate: ShareGate;
  /** How long a receiver has to accept an offer (TETHER_HANDOFF_OFFER_TTL_MS). */
  offerTtlMs: number;
}

type Request = VerbData<typeof handoffContract, 'request'>;

/** A handoff going on for the terminal: a second one is refused at once (the terminal's claim settles a race). */
async function refuseWhileHandingOver(host: ActorHost, terminalId: string, held: string | undefined) {
  if (!held) return;
  const h = await host.state('handoff', held);
  if (h && isLiveHandoff(h.value))
    throw new TetherError(
      'NOT_ALLOWED',
      `terminal ${terminalId} is being handed over by handoff ${held} (${String(h.value)}); wait for it to end or cancel it, then ask again`,
      { reason: 'TERMINAL_HANDOFF_IN_PROGRESS' },
    );
}

/**
 * handoff.request: the policy gate decides (allow, an operator's approval, or deny: recorded all the
 * same, with the reason), on a live terminal whose keyboard is not already changing hands. The
 * receiver's writer session is made up from the command id (a resend names the same one) unless
 * the requester names one.
 */
export function handoffCommands(deps: HandoffCommandDeps): Record<string, ApplicationCommand> {
  const { host, gate } = deps;
  return {
    'handoff.request': async (cmd) => {
      const parsed = HandoffRequestBody.safeParse(cmd.data ?? {});
      if (!parsed.success) throw invalid('invalid data for handoff.request', parsed.error);
      const body = parsed.data;
      const to = parseActorRef(body.to);
      const terminal = await gate.liveTerminal(host, body.terminal_id);
      const { laneId, sessionId: fromSessionId } = terminal.context;
      if (body.session_id === fromSessionId)
        throw new TetherError(
          'INVALID_COMMAND',
          `session ${fromSessionId} already writes to terminal ${body.terminal_id}; name another session_id for the receiver, or none`,
          { issues: [{ path: ['session_id'], message: 'the terminal’s current writer' }] },
        );
      await refuseWhileHandingOver(host, body.terminal_id, terminal.context.handoffId);
      const handoffId = cmd.entityId ?? `ho-${stepId(cmd.id, 'handoff').slice(0, 16)}`;
      const verdict = gate.decideHandoff(cmd.actor, { terminalId: body.terminal_id, laneId, to });
      const request: Request = {
        terminalId: body.terminal_id,
        laneId,
        to,
        fromSessionId,
        toSessionId: body.session_id ?? `hs-${stepId(cmd.id, 'session').slice(0, 16)}`,
        ...(body.note ? { note: body.note } : {}),
        policy: verdict,
        offerTtlMs: deps.offerTtlMs,
        correlationId: cmd.correlationId,
      };
      const accepted = await commandSteps(host, cmd)('handoff', 'request', handoffId, request);
      if (verdict.effect === 'deny')
        throw new TetherError('NOT_ALLOWED', `handoff ${handoffId} denied: ${verdict.reason}`, {
          reason: 'HANDOFF_DENIED',
        });
      const h = (await readActor(host, 'handoff', handoffId))!;
      return { ...accepted, commandId: cmd.id, result: handoffView(h) };
    },
  };
}

/**
 * Host preconditions: the request step carries the verdict the policy gives now on a live terminal of
 * its lane (nobody brings their own "allow"), and only a decision on the handoff's own approval moves it.
 */
export function handoffPreconditions(deps: HandoffCommandDeps): Record<string, Precondition> {
  const { gate } = deps;
  const decided: Precondition = async (cmd, host) => {
    const { approvalId } = cmd.data as { approvalId: string };
    const [a, h] = await Promise.all([
      readActor(host, 'approval', approvalId),
      readActor(host, 'handoff', cmd.entityId),
    ]);
    const expected = cmd.verb === 'approved' ? ['approved'] : ['denied', 'expired'];
    const own =
      !!a &&
      !!h &&
      approvalId === cmd.entityId &&
      a.context.handoffId === cmd.entityId &&
      sameActor(a.context.requestedBy, h.context.from);
    if (!a || !own || !expected.includes(String(a.value)))
      throw new TetherError(
        'NOT_ALLOWED',
        `handoff ${cmd.entityId} is ${cmd.verb} only by a decision on its approval; approval ${approvalId} is ${a ? String(a.value) : 'missing'}`,
        { reason: 'APPROVAL_NOT_DECIDED' },
      );
  };
  return {
    'handoff.request': async (cmd: Command & { entityId: string }, host) => {
      const req = cmd.data as Request;
      const t = await gate.liveTerminal(host, req.terminalId);
      if (t.context.laneId !== req.laneId)
        throw new TetherError(
          'INVALID_COMMAND',
          `terminal ${req.terminalId} belongs to lane ${t.context.laneId}, not ${req.laneId}`,
        );
      const verdict = gate.decideHandoff(cmd.actor, req);
      if (verdict.effect !== req.policy.effect || verdict.ruleId !== req.policy.ruleId)
        throw new TetherError(
          'NOT_ALLOWED',
          `the share policy decides "${verdict.effect}" (${verdict.reason}) on this handoff, not "${req.policy.effect}"; use handoff.request`,
          { reason: 'POLICY_MISMATCH' },
        );
    },
    'handoff.approved': decided,
    'handoff.denied': decided,
  };
}
