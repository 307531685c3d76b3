import {
  CredentialCreateBody,
  CredentialRevokeBody,
  actorRef,
  sameActor,
  TetherError,
  type Command,
  type CommandAccepted,
  type LoginLink,
  type Me,
  type Principal,
} from '@tether/contracts';
import {
  commandFrom,
  parseBody,
  principalOf,
  withSecretReply,
  type ActorHost,
  type Authenticator,
  type Capability,
  type CapabilityDeps,
} from '@tether/runtime';
import { listActorsOf } from '@tether/projector';
import { createdView, credentialView, issueCredential, readCredential } from './credentials.ts';
import { loginPages, csrfTokenFor, sessionTokenOf } from './sessions.ts';

/** A one-time sign-in link works this long. */
export const LOGIN_LINK_TTL_MS = 15 * 60_000;

/**
 * Credentials: `credential.create` (operators; the token shown once), revoke, the caller's own identity,
 * and the dashboard's one-time sign-in links and cookie sessions.
 */
export function startIdentity(deps: CapabilityDeps & { authenticator: Authenticator }): Capability {
  const { host, dispatcher, store } = deps;
  /** Where people open links: TETHER_PUBLIC_URL (a proxy's address), else the gateway's own. */
  const publicUrl = () => deps.config.TETHER_PUBLIC_URL ?? deps.baseUrl();
  const create = withSecretReply(async (cmd: Command): Promise<CommandAccepted> => {
    const body = parseBody(CredentialCreateBody, cmd.data);
    const issued = await issueCredential(host, cmd, {
      actor: body.actor,
      role: body.role,
      purpose: 'token',
      ttlMs: body.ttl_ms,
      label: body.label,
    });
    const view = createdView(await readCredential(host, issued.credentialId), issued.token);
    return { ...issued.accepted, commandId: cmd.id, result: view };
  });
  return {
    name: 'identity',
    commands: { 'credential.create': create },
    preconditions: {},
    reactors: [],
    routes: {
      me: async (req): Promise<Me> => {
        const p = principalOf(req);
        const session = sessionTokenOf(req);
        return {
          actor: actorRef(p.actor),
          role: p.role,
          credential_id: p.credentialId,
          csrf_token: session && !req.headers.authorization ? csrfTokenFor(session) : null,
        };
      },
      // Operators see every credential; anyone else only their own.
      'credentials.list': async (req) => {
        const p = principalOf(req);
        const mine = (a: { context: { actor: Principal['actor'] } }) =>
          p.role === 'operator' || sameActor(a.context.actor, p.actor);
        return {
          items: (await listActorsOf(store, 'credential', mine))
            .map(credentialView)
            .sort((a, b) => b.issued_at.localeCompare(a.issued_at)),
        };
      },
      'credentials.create': async (req, reply) => {
        const r = await dispatcher.accept(commandFrom(req, 'credential', 'create', undefined, req.body as never));
        return reply.status(201).send(r.result);
      },
      'credentials.revoke': async (req) => {
        const id = req.params.credential!;
        const data = parseBody(CredentialRevokeBody, req.body);
        await dispatcher.accept(commandFrom(req, 'credential', 'revoke', id, data));
        return credentialView(await readCredential(host, id));
      },
      'loginLinks.create': async (req, reply) => {
        const link = await loginLink(host, commandFrom(req, 'credential', 'issue', undefined, {}), publicUrl());
        return reply.status(201).send(link);
      },
    },
    pages: (pages) =>
      loginPages(pages, {
        host,
        authenticator: deps.authenticator,
        // Behind a TLS proxy the socket is plain http, but the browser's page is https.
        behindHttps: () => publicUrl().startsWith('https:'),
      }),
    stop: async () => {},
  };
}

/** A one-time sign-in link for `by`'s principal (or, from `tether up`, the owner's). */
export async function loginLink(host: ActorHost, by: Command, baseUrl: string): Promise<LoginLink> {
  const principal: Principal | undefined = by.principal;
  if (!principal) throw new TetherError('UNAUTHENTICATED', 'a sign-in link is made for an authenticated caller');
  const issued = await issueCredential(host, by, {
    actor: principal.actor,
    role: principal.role,
    purpose: 'login',
    ttlMs: LOGIN_LINK_TTL_MS,
    label: 'dashboard sign-in link',
    parentId: principal.credentialId, // revoking the token that made the link ends the link and its session
  });
  if (!issued.token) throw new TetherError('CONFLICT', 'this sign-in link was made already; ask for another');
  const view = credentialView(await readCredential(host, issued.credentialId));
  // The token rides in the fragment, which browsers never send: it reaches no server log.
  return {
    url: `${baseUrl}/login#token=${issued.token}`,
    credential_id: view.credential_id,
    expires_at: view.expires_at!,
  };
}
