import { z } from 'zod';
import { Actor } from '../envelope.ts';
import { Iso } from '../ids.ts';
import { CredentialPurpose, Role } from '../identity.ts';
import type { EntityContract } from './contract.ts';

const noData = z.object({}).strict();

/**
 * A credential: issued with the sha256 of its secret (the token itself is shown once and kept nowhere),
 * then revoked, used (a one-time login link) or expired. Issued only by tether's identity service.
 */
export const credentialContract = {
  issue: {
    internal: true,
    creates: true,
    summary: 'A credential is issued to an actor with a role (only the hash of its secret is kept)',
    data: z
      .object({
        actor: Actor,
        role: Role,
        purpose: CredentialPurpose,
        label: z.string().max(128).optional(),
        /** Absent: it never expires (the owner's credential). */
        expiresAt: Iso.optional(),
        hash: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex'),
        /** Issued on the strength of this credential (a sign-in link, a dashboard session): it ends with it. */
        parentId: z.string().min(1).optional(),
      })
      .strict(),
  },
  revoke: {
    summary: 'Revoke a credential: it stops working at once',
    data: z.object({ reason: z.string().min(1).max(1_000).optional() }).strict(),
  },
  use: { internal: true, summary: 'A one-time login link was used: it works once', data: noData },
  expire: { internal: true, summary: "Timer: the credential's time is up", data: noData },
} satisfies EntityContract;

export const CredentialContext = z.object({
  actor: Actor,
  role: Role,
  purpose: CredentialPurpose,
  label: z.string().optional(),
  expiresAt: Iso.optional(),
  hash: z.string(),
  parentId: z.string().optional(),
  issuedBy: Actor,
  issuedAt: Iso,
  endedAt: Iso.optional(),
  endedBy: Actor.optional(),
  reason: z.string().optional(),
});
export type CredentialContext = z.infer<typeof CredentialContext>;
