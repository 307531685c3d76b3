import { z } from 'zod';
import { Sha256Hex } from '../audit.ts';
import { Actor } from '../envelope.ts';
import { Iso, Token } from '../ids.ts';
import type { EntityContract } from './contract.ts';
import { PolicyVerdict } from './sharing.ts';

/*
 * Handoff (seed 000, T011): a terminal's keyboard passes from one actor to another, human → AI or
 * AI → human. The share policy decides (a rule may hold it for an operator's approval, on the approval
 * entity); once allowed, tether captures the terminal's context; the receiver accepts; the terminal's
 * writer session changes and the giver stays on as a read-only watcher.
 *
 * Who may send each verb (the authorization table, contracts/src/authorization.ts, decides roles; the
 * machine keeps only the rules about the handoff itself):
 *   handoff.request   application command; the giver (human or agent: a terminal's current user), or an operator
 *   handoff.accept    the receiver named in the request (the machine refuses anyone else: HANDOFF_NOT_RECEIVER)
 *   handoff.cancel    the requester or the receiver (machine: HANDOFF_NOT_PARTY), or an operator
 *   approval.approve  an operator other than the requester (approval machine: APPROVER_IS_REQUESTER)
 *   approval.deny     the same as approve
 *   internal (tether only): handoff.request (step), approved, denied, initiated, completed, failed, expire;
 *                           terminal.handoffClaim, terminal.handoffRelease, terminal.handover
 */

const reason = z.string().min(1).max(1_000);
const noData = z.object({}).strict();
const count = z.number().int().nonnegative();

/** The lane's git status at capture: branch, how far from its base, and how many files changed. */
export const GitSummary = z
  .object({
    branch: z.string().max(256).nullable(),
    /** What ahead/behind count against: the upstream, else the branch of the repository's main worktree. */
    base: z.string().max(256).nullable(),
    ahead: count.nullable(),
    behind: count.nullable(),
    staged: count,
    unstaged: count,
    untracked: count,
    conflicted: count,
  })
  .strict();
export type GitSummary = z.infer<typeof GitSummary>;

/**
 * What tether captured of the terminal once the handoff was allowed (never for a denied one).
 * Environment values are sealed in a file under the data folder; the stream holds their names only.
 */
export const CapturedContext = z
  .object({
    /** The shell's working directory (/proc/<shell>/cwd). */
    cwd: z.string().min(1).max(4_096),
    env: z
      .object({
        names: z.array(z.string().min(1).max(256)).max(4_096),
        /** Where the sealed values are, relative to the data folder. */
        sealedRef: z.string().min(1).max(512),
      })
      .strict(),
    /** A snapshot of the scrollback (the terminal log up to `offset`), saved beside the sealed environment. */
    scrollback: z.object({ ref: z.string().min(1).max(512), offset: count, bytes: count, sha256: Sha256Hex }).strict(),
    git: GitSummary,
    correlationId: z.string().min(1).max(256),
    capturedAt: Iso,
  })
  .strict();
export type CapturedContext = z.infer<typeof CapturedContext>;

export const handoffContract = {
  request: {
    internal: true,
    creates: true,
    summary: 'Ask to hand a terminal to another actor (use handoff.request, which runs the policy gate)',
    data: z
      .object({
        terminalId: Token,
        laneId: Token,
        /** The receiver. */
        to: Actor,
        /** The writer session the keyboard leaves (the terminal's at request time). */
        fromSessionId: Token,
        /** The writer session it goes to (the receiver may name another when accepting). */
        toSessionId: Token,
        /** Why the requester hands over (an agent that is stuck, needs a person's approval …). */
        note: z.string().min(1).max(1_000).optional(),
        policy: PolicyVerdict,
        /** How long the receiver has to accept once the handoff is offered. */
        offerTtlMs: z.number().int().positive().max(86_400_000),
        /** The request's correlation id, which every report of tether about this handoff carries on. */
        correlationId: z.string().min(1).max(256),
      })
      .strict(),
  },
  approved: {
    internal: true,
    summary: 'Approval report: an operator approved the handoff',
    data: z.object({ approvalId: Token, by: z.string().min(1).max(256) }).strict(),
  },
  denied: {
    internal: true,
    summary: 'Approval report: an operator denied the handoff, or nobody decided in time',
    data: z.object({ approvalId: Token, reason }).strict(),
  },
  initiated: {
    internal: true,
    summary: "Worker report: the terminal's context is captured; the receiver is notified",
    data: z.object({ context: CapturedContext }).strict(),
  },
  accept: {
    summary: 'The receiver takes the keyboard (optionally as a writer session of their own)',
    data: z.object({ sessionId: Token.optional() }).strict(),
  },
  completed: {
    internal: true,
    summary: "Terminal worker report: the terminal's writer is the receiver's session now",
    data: z.object({ terminalId: Token, fromSessionId: Token, toSessionId: Token }).strict(),
  },
  cancel: {
    summary: 'The requester or the receiver calls the handoff off before it completes',
    data: z.object({ reason: reason.optional() }).strict(),
  },
  expire: { internal: true, summary: 'Timer: nobody accepted the offer in time', data: noData },
  failed: {
    internal: true,
    summary: 'Worker report: the handoff cannot go on (the terminal is busy with another handoff, closed, or gone)',
    data: z.object({ reason }).strict(),
  },
} satisfies EntityContract;

/** How a handoff ended. */
export const HandoffEnd = z.enum(['completed', 'denied', 'cancelled', 'failed']);
export type HandoffEnd = z.infer<typeof HandoffEnd>;
