import {
  sameActor,
  TetherError,
  type Actor,
  type Command,
  type PolicyDecision,
  type ShareSettings,
  type VerbData,
  type shareContract,
} from '@tether/contracts';
import { readActor } from '@tether/projector';
import type { ActorHost } from '@tether/runtime';
import { checkLiveShare } from './live/live-share.ts';
import type { PolicyGate } from './policy-gate.ts';

type ShareRequest = VerbData<typeof shareContract, 'request'>;

const LIVE_TERMINAL = new Set(['active', 'throttled']);

/**
 * The checks every share request passes before anything is written or started: a live terminal of
 * the named lane, a TTL within the configured bounds, and the policy's verdict, recomputed here so
 * a request sent straight to tether.cmd.share.request cannot bring its own "allow".
 */
export class ShareGate {
  constructor(
    private policy: PolicyGate,
    readonly settings: ShareSettings,
  ) {}

  /** Decide by `policy` from now on (a reload: SharePolicy). */
  use(policy: PolicyGate) {
    this.policy = policy;
  }

  decide(actor: Actor, req: Pick<ShareRequest, 'terminalId' | 'laneId' | 'backend' | 'access'>): PolicyDecision {
    return this.policy.decide({
      actor,
      terminalId: req.terminalId,
      laneId: req.laneId,
      backend: req.backend,
      access: req.access,
    });
  }

  /** The policy's word on handing `terminalId`'s keyboard from `actor` to `to` (a handoff grants write). */
  decideHandoff(actor: Actor, req: { terminalId: string; laneId: string; to: Actor }): PolicyDecision {
    return this.policy.decide({ action: 'handoff', actor, access: 'write', ...req });
  }

  checkTtl(ttlMs: number) {
    const { minTtlMs, maxTtlMs } = this.settings;
    if (ttlMs < minTtlMs || ttlMs > maxTtlMs) {
      throw new TetherError(
        'INVALID_COMMAND',
        `invalid share ttl: ${ttlMs} ms is outside ${minTtlMs} ms … ${maxTtlMs} ms (${minTtlMs / 60_000} min … ${maxTtlMs / 3_600_000} h)`,
        {
          issues: [{ path: ['ttlMs'], message: `between ${minTtlMs} and ${maxTtlMs}` }],
        },
      );
    }
  }

  async liveTerminal(host: ActorHost, terminalId: string) {
    const t = await readActor(host, 'terminal', terminalId);
    if (!t) throw new TetherError('NOT_FOUND', `terminal ${terminalId} does not exist`);
    if (!LIVE_TERMINAL.has(String(t.value))) {
      throw new TetherError(
        'NOT_ALLOWED',
        `terminal ${terminalId} is ${String(t.value)}; only a running terminal can be shared`,
        { reason: 'TERMINAL_NOT_ACTIVE' },
      );
    }
    return t;
  }

  /**
   * Host precondition of share.approved / share.rejected: only a decision on the share's own approval
   * counts (the approval shares the share's id and names the share's owner as the requester).
   */
  decided = async (cmd: Command & { entityId: string }, host: ActorHost): Promise<void> => {
    const { approvalId } = cmd.data as { approvalId: string };
    const [a, share] = await Promise.all([
      readActor(host, 'approval', approvalId),
      readActor(host, 'share', cmd.entityId),
    ]);
    const expected = cmd.verb === 'approved' ? ['approved'] : ['denied', 'expired'];
    const ac = a?.context;
    const owner = share?.context.owner;
    const own =
      !!ac && !!owner && approvalId === cmd.entityId && ac.shareId === cmd.entityId && sameActor(ac.requestedBy, owner);
    if (!a || !own || !expected.includes(String(a.value))) {
      throw new TetherError(
        'NOT_ALLOWED',
        `share ${cmd.entityId} is ${cmd.verb} only by a decision on its approval; approval ${approvalId} is ${a ? String(a.value) : 'missing'}`,
        { reason: 'APPROVAL_NOT_DECIDED' },
      );
    }
  };

  /** Host precondition of share.request. */
  precondition = async (cmd: Command & { entityId: string }, host: ActorHost): Promise<void> => {
    const req = cmd.data as ShareRequest;
    const t = await this.liveTerminal(host, req.terminalId);
    if (t.context.laneId !== req.laneId)
      throw new TetherError(
        'INVALID_COMMAND',
        `terminal ${req.terminalId} belongs to lane ${t.context.laneId}, not ${req.laneId}`,
      );
    this.checkTtl(req.ttlMs);
    if (req.maxTtlMs !== this.settings.maxTtlMs || req.warnBeforeMs !== this.settings.warnBeforeMs) {
      throw new TetherError(
        'INVALID_COMMAND',
        `share.request must carry the configured maxTtlMs ${this.settings.maxTtlMs} and warnBeforeMs ${this.settings.warnBeforeMs}; use share.create`,
      );
    }
    // A live session's share is allowed by its session (checked there), not by the policy file.
    if (req.liveSessionId !== undefined) return checkLiveShare(cmd, host);
    const verdict = this.decide(cmd.actor, req);
    if (verdict.effect !== req.policy.effect || verdict.ruleId !== req.policy.ruleId) {
      throw new TetherError(
        'NOT_ALLOWED',
        `the share policy decides "${verdict.effect}" (${verdict.reason}), not "${req.policy.effect}"; use share.create`,
        { reason: 'POLICY_MISMATCH' },
      );
    }
  };
}
