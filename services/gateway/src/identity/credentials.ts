import {
  actorRef,
  TetherError,
  type Actor,
  type Command,
  type CommandAccepted,
  type CredentialCreated,
  type CredentialPurpose,
  type CredentialView,
  type Principal,
  type Role,
} from '@tether/contracts';
import { derivedId, mintToken, uuid, type ActorHost } from '@tether/runtime';
import { readActor, type ActorOf } from '@tether/projector';

export interface IssueRequest {
  actor: Actor;
  role: Role;
  purpose: CredentialPurpose;
  /** Absent: never expires (the owner's credential). */
  ttlMs?: number;
  label?: string;
  /** The credential this one was made with: when that one stops working, so does this one. */
  parentId?: string;
}

/**
 * Issues a credential as `by` (a command: its id makes a resend name the same credential). The token
 * is minted here and returned once; the event keeps only its hash. A resend answers token null.
 */
export async function issueCredential(
  host: ActorHost,
  by: Command,
  req: IssueRequest,
): Promise<{ accepted: CommandAccepted; token: string | null; credentialId: string }> {
  const credentialId = derivedId('credential', by.id);
  const { token, hash } = mintToken(credentialId);
  const expiresAt = req.ttlMs === undefined ? undefined : new Date(Date.now() + req.ttlMs).toISOString();
  const accepted = await host.execute({
    ...by, // its id too: the issue is the whole of the command, so a resend is recognised by the credential
    entity: 'credential',
    verb: 'issue',
    entityId: credentialId,
    causationId: by.id,
    data: {
      actor: req.actor,
      role: req.role,
      purpose: req.purpose,
      hash,
      ...(req.label ? { label: req.label } : {}),
      ...(req.parentId ? { parentId: req.parentId } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    },
  });
  return { accepted, token: accepted.duplicate ? null : token, credentialId };
}

/** A credential as every surface shows it: never its token or hash. */
export function credentialView(a: ActorOf<'credential'>): CredentialView {
  const c = a.context;
  return {
    credential_id: a.entityId,
    actor: actorRef(c.actor),
    role: c.role,
    purpose: c.purpose,
    label: c.label ?? null,
    state: a.value as CredentialView['state'],
    issued_at: c.issuedAt,
    issued_by: actorRef(c.issuedBy),
    expires_at: c.expiresAt ?? null,
    ended_at: c.endedAt ?? null,
    ended_by: c.endedBy ? actorRef(c.endedBy) : null,
    reason: c.reason ?? null,
  };
}

export async function readCredential(host: ActorHost, id: string): Promise<ActorOf<'credential'>> {
  const a = await readActor(host, 'credential', id);
  if (!a) throw new TetherError('NOT_FOUND', `credential ${id} does not exist; see \`tether token list\``);
  return a;
}

export const createdView = (a: ActorOf<'credential'>, token: string | null): CredentialCreated => ({
  ...credentialView(a),
  token,
});

/** A command tether itself runs for `principal` (the owner's sign-in link at start). */
export const commandAs = (principal: Principal, entity: string, verb: string): Command => {
  const id = uuid();
  return { id, entity, verb, data: {}, actor: principal.actor, principal, correlationId: id, causationId: id };
};

/** A command tether itself runs (the owner's credential at first start): the system actor's. */
export const systemCommand = (entity: string, verb: string): Command => {
  const id = uuid();
  return { id, entity, verb, data: {}, actor: { kind: 'system', id: 'tether' }, correlationId: id, causationId: id };
};
