import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TetherError } from '@tether/contracts';
import {
  parseBody,
  stepId,
  type ActorHost,
  type Authenticator,
  type HttpRequest,
  type WebPages,
} from '@tether/runtime';
import { commandAs, issueCredential, readCredential } from './credentials.ts';

export const SESSION_COOKIE = 'tether_session';
/** A dashboard session lasts a working day; sign in again with a new link after. */
export const SESSION_TTL_MS = 12 * 3_600_000;

const pageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard');
const LoginBody = z.object({ token: z.string().min(1).max(512) }).strict();

/** The session token in the request's cookie, if any. */
export function sessionTokenOf(req: Pick<HttpRequest, 'headers'>): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== SESSION_COOKIE) continue;
    try {
      return decodeURIComponent(value.join('='));
    } catch {
      return undefined; // a malformed cookie is no cookie: 401, not a 500
    }
  }
  return undefined;
}

/** What a session's state-changing requests echo in X-Tether-Csrf: derived from the cookie, which other sites cannot read. */
export const csrfTokenFor = (sessionToken: string) =>
  createHash('sha256').update(`csrf:${sessionToken}`).digest('base64url');

const cookie = (value: string, maxAgeS: number, secure: boolean) =>
  `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;

/**
 * GET /login: a page that reads the one-time token from the link's fragment and POSTs it; POST /login
 * uses it up and sets the session cookie (a session credential of the same actor and role); POST
 * /logout revokes the session and clears the cookie.
 */
export function loginPages(
  pages: WebPages,
  deps: { host: ActorHost; authenticator: Authenticator; behindHttps: () => boolean },
) {
  const { host, authenticator } = deps;
  pages.get('/login', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(readFileSync(join(pageDir, 'login.html'))),
  );
  pages.post('/login', async (req, reply) => {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      throw new TetherError('INVALID_COMMAND', 'sign in with a JSON body {"token": "..."} (the login page does it)');
    const { token } = parseBody(LoginBody, req.body);
    const principal = await authenticator.verify(token, ['login']);
    const link = await readCredential(host, principal.credentialId);
    const by = commandAs(principal, 'credential', 'use');
    await host.execute({ ...by, entityId: principal.credentialId });
    const session = await issueCredential(
      host,
      { ...by, id: stepId(by.id, 'session') },
      {
        actor: principal.actor,
        role: principal.role,
        purpose: 'session',
        ttlMs: SESSION_TTL_MS,
        label: 'dashboard session',
        parentId: link.context.parentId, // the token the link was made with: the session ends with it
      },
    );
    const secure = (req.raw.socket && 'encrypted' in req.raw.socket) || deps.behindHttps();
    reply.header('set-cookie', cookie(session.token!, SESSION_TTL_MS / 1000, Boolean(secure)));
    return reply.status(204).send();
  });
  pages.post('/logout', async (req, reply) => {
    const token = sessionTokenOf(req);
    if (token) {
      const principal = await authenticator.verify(token, ['session']).catch(() => undefined);
      if (principal && req.headers['x-tether-csrf'] === csrfTokenFor(token))
        await host.execute({
          ...commandAs(principal, 'credential', 'revoke'),
          entityId: principal.credentialId,
          data: { reason: 'signed out' },
        });
    }
    reply.header('set-cookie', cookie('', 0, false));
    return reply.status(204).send();
  });
}
