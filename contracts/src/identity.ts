import { z } from 'zod';
import { Actor } from './envelope.ts';

// Who is asking: every request carries a credential, and the actor is taken from it, never from a
// header, an environment variable or a command body.

/** What a credential's holder may do; authorization.ts says exactly what each role may send. */
export const Role = z.enum(['operator', 'member', 'viewer', 'agent', 'service']);
export type Role = z.infer<typeof Role>;

/** What a credential is for: a token (CLI, service, agent), a one-time dashboard link, a dashboard session. */
export const CredentialPurpose = z.enum(['token', 'login', 'session']);
export type CredentialPurpose = z.infer<typeof CredentialPurpose>;

/** An authenticated caller: the credential's actor and role, and the credential, named in the audit. */
export const Principal = z.object({ actor: Actor, role: Role, credentialId: z.string().min(1) }).strict();
export type Principal = z.infer<typeof Principal>;

/** The NATS header a command carries its credential in (HTTP: Authorization: Bearer). */
export const CREDENTIAL_HEADER = 'Tether-Credential';

/** "human:alice", "ai:codex-1", "service:ci"; a bare name is a person. The system actor is tether's own. */
export const ActorRefText = z
  .string()
  .min(1)
  .max(263)
  .regex(/^(?:(?:human|ai|service):\S+|[^\s:]+)$/, 'an actor is "kind:id" (human, ai or service), e.g. "ai:codex-1"');

/** The actor an ActorRefText names: "alice" → human:alice. */
export function parseActorRef(ref: string): Actor {
  const m = /^(human|ai|service):(.+)$/.exec(ref);
  return m ? { kind: m[1] as Actor['kind'], id: m[2]! } : { kind: 'human', id: ref };
}

/** An ActorRefText parsed into the actor. */
export const ActorRef = ActorRefText.transform(parseActorRef);

/** The actor as people write it: "human:alice". */
export const actorRef = (a: Pick<Actor, 'id'> & { kind: string }) => `${a.kind}:${a.id}`;
