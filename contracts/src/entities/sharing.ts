import { z } from 'zod';
import { Actor } from '../envelope.ts';
import { freeText } from '../free-text.ts';
import { Token } from '../ids.ts';
import { AccessMode, ShareBackend } from '../policy.ts';
import type { EntityContract } from './contract.ts';

// Terminal sharing (seeds 000/001): a share actor per share, an approval actor per share that a
// policy rule holds for an operator. Tokens never enter the stream: only their sha256 does.

const reason = freeText(1_000).min(1);
const noData = z.object({}).strict();
/** The stream's hard bounds; the configured limits (default 1 min … 4 h) are checked by the share gate. */
const Millis = z
  .number()
  .int()
  .positive()
  .max(7 * 86_400_000);
const Sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'a sha256 hex digest');

/** Why a share ended. */
export const ShareEndReason = z.enum(['expired', 'revoked', 'terminated', 'failed', 'switched', 'denied']);
export type ShareEndReason = z.infer<typeof ShareEndReason>;

/** What the policy gate decided, recorded in the share's first event (the gate re-checks it). */
export const PolicyVerdict = z
  .object({
    effect: z.enum(['allow', 'approval', 'deny']),
    ruleId: z.string().nullable(),
    reason: freeText(2_000),
  })
  .strict();

export const ParticipantId = Token;

export const shareContract = {
  request: {
    internal: true,
    creates: true,
    summary: 'Ask to share a terminal (use share.create, which runs the policy gate, limits and the first link)',
    data: z
      .object({
        terminalId: Token,
        laneId: Token,
        backend: ShareBackend,
        access: AccessMode,
        ttlMs: Millis,
        /** A share's whole life, extensions included, stays within this. */
        maxTtlMs: Millis,
        warnBeforeMs: z.number().int().nonnegative().max(86_400_000),
        policy: PolicyVerdict,
        /** The share this one replaces (switching backend). */
        replaces: Token.optional(),
        /** The task run's live session this share serves (its precondition checks the session names it). */
        liveSessionId: Token.optional(),
        /** false: viewers attach with `tether attach` only, a browser is refused (TETHER_LIVE_ALLOW_WEB=0). */
        web: z.boolean().optional(),
      })
      .strict(),
  },
  approved: {
    internal: true,
    summary: 'Approval report: an operator approved the share',
    data: z.object({ approvalId: Token, by: z.string().min(1).max(256) }).strict(),
  },
  rejected: {
    internal: true,
    summary: 'Approval report: the share was denied or the approval expired',
    data: z.object({ approvalId: Token, reason }).strict(),
  },
  started: {
    internal: true,
    summary: 'Worker report: the backend is ready',
    data: z
      .object({
        workerPid: z.number().int().positive().optional(),
        /** Backend links sealed with tether\'s key (AES-256-GCM): readable only through the owner\'s API. */
        sealedLinks: z.string().max(8_192).optional(),
      })
      .strict(),
  },
  failed: {
    internal: true,
    summary: 'Worker report: the backend failed or its worker died',
    data: z.object({ reason }).strict(),
  },
  warn: { internal: true, summary: 'Timer: the share enters its grace period before expiry', data: noData },
  expire: { internal: true, summary: "Timer: the share's time is up", data: noData },
  extend: {
    summary: "The owner adds time (the share's whole life stays within the maximum TTL)",
    data: z.object({ ttlMs: Millis }).strict(),
  },
  revoke: {
    summary: 'End the share now and disconnect every participant',
    data: z.object({ reason: reason.optional() }).strict(),
  },
  terminate: { internal: true, summary: 'The terminal closed: the share ends', data: z.object({ reason }).strict() },
  switch: {
    internal: true,
    summary: 'Switching backend: this share ends (a new one replaces it)',
    data: z.object({ toShareId: Token }).strict(),
  },
  invite: {
    internal: true,
    summary: 'Add a participant with their own read-only link (use share.invite, which makes the token)',
    data: z.object({ participantId: ParticipantId, name: freeText(128).min(1), tokenHash: Sha256 }).strict(),
  },
  joined: {
    internal: true,
    summary: 'Relay report: a participant connected',
    data: z.object({ participantId: ParticipantId, via: z.enum(['browser', 'cli']) }).strict(),
  },
  left: {
    internal: true,
    summary: 'Relay report: a participant disconnected',
    data: z.object({ participantId: ParticipantId, reason }).strict(),
  },
  kick: {
    summary: 'Disconnect one participant and invalidate their link',
    data: z.object({ participantId: ParticipantId, reason: reason.optional() }).strict(),
  },
  grantWrite: {
    summary: 'Let one participant type, until the grant expires',
    data: z.object({ participantId: ParticipantId, ttlMs: Millis }).strict(),
  },
  revokeWrite: {
    summary: 'Make one participant read-only again',
    data: z.object({ participantId: ParticipantId, reason: reason.optional() }).strict(),
  },
  writeExpired: { internal: true, summary: 'Timer: write grants whose time is up end', data: noData },
} satisfies EntityContract;

export const approvalContract = {
  request: {
    internal: true,
    creates: true,
    summary: "A policy rule holds a share or a handoff for an operator's approval",
    data: z
      .object({
        /** What waits for the decision: a share, or a handoff (exactly one). */
        shareId: Token.optional(),
        handoffId: Token.optional(),
        requestedBy: Actor,
        ruleId: z.string().min(1).max(128),
        reason: freeText(2_000),
        timeoutMs: Millis,
      })
      .strict()
      .refine((d) => (d.shareId === undefined) !== (d.handoffId === undefined), {
        message: 'an approval is for one share or one handoff: give exactly one of shareId and handoffId',
        path: ['shareId'],
      }),
  },
  approve: {
    summary: 'An operator (a human other than the requester) approves',
    data: z.object({ note: freeText(1_000).optional() }).strict(),
  },
  deny: { summary: 'An operator denies', data: z.object({ reason }).strict() },
  expire: { internal: true, summary: 'Timer: nobody decided in time', data: noData },
} satisfies EntityContract;

/**
 * Share limits an operator configures; their defaults and the min ≤ default ≤ max rule live with the
 * settings (contracts/src/config/settings.ts), which parse them once at start.
 */
export interface ShareSettings {
  defaultTtlMs: number;
  minTtlMs: number;
  maxTtlMs: number;
  warnBeforeMs: number;
  maxPerTerminal: number;
  approvalTimeoutMs: number;
}
