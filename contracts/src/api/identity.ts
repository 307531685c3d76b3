import { z } from 'zod';
import { ActorRef, CredentialPurpose, Role } from '../identity.ts';

// HTTP bodies and views of credentials; `credential.create` is the same command on NATS.

const DAY_MS = 86_400_000;

export const CredentialCreateBody = z
  .object({
    /** Who the credential speaks for: "human:alice", "ai:codex-1", "service:ci" ("alice" is a person). */
    actor: ActorRef,
    role: Role,
    /** How long it works (default 30 days, at most a year). */
    ttl_ms: z
      .number()
      .int()
      .min(60_000, 'ttl_ms is at least 60000 (a minute)')
      .max(366 * DAY_MS, 'ttl_ms is at most a year')
      .default(30 * DAY_MS),
    label: z.string().min(1).max(128).optional(),
  })
  .strict();
export const CredentialRevokeBody = z.object({ reason: z.string().min(1).max(1_000).optional() }).strict();

export const CredentialView = z.object({
  credential_id: z.string(),
  actor: z.string(),
  role: Role,
  purpose: CredentialPurpose,
  label: z.string().nullable(),
  state: z.enum(['active', 'revoked', 'used', 'expired']),
  issued_at: z.string(),
  issued_by: z.string(),
  expires_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  ended_by: z.string().nullable(),
  reason: z.string().nullable(),
});
export type CredentialView = z.infer<typeof CredentialView>;

/** The reply to a create: the view and the token, shown this once (only its hash is kept). */
export const CredentialCreated = CredentialView.extend({
  /** null when a resent create is answered: the token was shown once; revoke it and create another. */
  token: z.string().nullable(),
});
export type CredentialCreated = z.infer<typeof CredentialCreated>;

/** A one-time sign-in link for the dashboard: opening it sets the session cookie. */
export const LoginLink = z.object({ url: z.string(), credential_id: z.string(), expires_at: z.string() });
export type LoginLink = z.infer<typeof LoginLink>;

/** Who the caller is, and for a dashboard session the CSRF token its state-changing requests must echo. */
export const Me = z.object({
  actor: z.string(),
  role: Role,
  credential_id: z.string(),
  csrf_token: z.string().nullable(),
});
export type Me = z.infer<typeof Me>;

export const identityApplicationCommands = {
  create: {
    data: CredentialCreateBody,
    creates: true,
    summary: 'Create a credential for an actor with a role (operators); the result carries its token, shown once',
  },
};
