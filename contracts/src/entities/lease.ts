import { z } from 'zod';
import { freeText } from '../free-text.ts';
import { Iso } from '../ids.ts';
import type { EntityContract } from './contract.ts';

// Demo entity of the runtime: a lease with an expiry, enough to exercise guards,
// durable deadlines and races. The control-plane entities join this registry.
const ttlMs = z.number().int().min(1_000, 'ttlMs is at least 1000').max(86_400_000, 'ttlMs is at most 86400000 (24 h)');

export const leaseContract = {
  create: {
    creates: true,
    summary: 'Create a lease held by `holder` until now + ttlMs',
    data: z.object({ holder: freeText(256).min(1), ttlMs: ttlMs.default(300_000) }).strict(),
  },
  renew: {
    summary: 'Extend a held lease to now + ttlMs (default: its original ttl)',
    data: z.object({ ttlMs: ttlMs.optional() }).strict(),
  },
  release: {
    summary: 'Release a held lease',
    data: z.object({ reason: freeText(512).optional() }).strict(),
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
