import { z } from 'zod';
import { Iso } from './ids.ts';
import {
  codexSessionContract,
  harnessContract,
  laneContract,
  sessionContract,
  terminalContract,
} from './entities/control-plane.ts';
import { approvalContract, shareContract } from './entities/sharing.ts';

/** What an entity accepts: one zod schema per verb; `creates` marks the verb that starts an entity. */
export interface VerbContract {
  data: z.ZodType<Record<string, unknown>>;
  creates?: boolean;
  /** Applies to a new entity or an existing one alike (e.g. claiming an id). */
  upsert?: boolean;
  /** An application command that acts on an existing entity named by `entityId` (e.g. share.invite). */
  needsEntityId?: boolean;
  /** Sent only by tether's own services (worker reports, timers, steps of an application command): NATS and HTTP refuse it. */
  internal?: boolean;
  summary: string;
}
export type EntityContract = Record<string, VerbContract>;

// Demo entity of the runtime: a lease with an expiry, enough to exercise guards,
// durable deadlines and races. The control-plane entities join this registry.
const ttlMs = z.number().int().min(1_000, 'ttlMs is at least 1000').max(86_400_000, 'ttlMs is at most 86400000 (24 h)');

export const leaseContract = {
  create: {
    creates: true,
    summary: 'Create a lease held by `holder` until now + ttlMs',
    data: z.object({ holder: z.string().min(1).max(256), ttlMs: ttlMs.default(300_000) }).strict(),
  },
  renew: {
    summary: 'Extend a held lease to now + ttlMs (default: its original ttl)',
    data: z.object({ ttlMs: ttlMs.optional() }).strict(),
  },
  release: {
    summary: 'Release a held lease',
    data: z.object({ reason: z.string().max(512).optional() }).strict(),
  },
  expire: {
    internal: true,
    summary: 'Expire a lease whose deadline has passed (fired by the timer service)',
    data: z.object({}).strict(),
  },
} satisfies EntityContract;

export const LeaseContext = z.object({
  holder: z.string(),
  ttlMs: z.number(),
  expiresAt: Iso,
  renewals: z.number().int(),
  endedAt: Iso.optional(),
  releaseReason: z.string().optional(),
});
export type LeaseContext = z.infer<typeof LeaseContext>;

export const entityContracts = {
  lease: leaseContract,
  lane: laneContract,
  session: sessionContract,
  terminal: terminalContract,
  harness: harnessContract,
  codexSession: codexSessionContract,
  share: shareContract,
  approval: approvalContract,
} satisfies Record<string, EntityContract>;
export type EntityNameOf = keyof typeof entityContracts;

/** Parsed data of a verb: the type machines receive. */
export type VerbData<C extends EntityContract, V extends keyof C> = z.output<C[V]['data']>;
