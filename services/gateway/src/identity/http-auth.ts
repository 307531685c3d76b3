import { TetherError } from '@tether/contracts';
import type { Authenticator, HttpRequest } from '@tether/runtime';
import { csrfTokenFor, sessionTokenOf } from './sessions.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who an API request comes from: `Authorization: Bearer <token>`, or the dashboard's session cookie,
 * whose state-changing requests must echo its CSRF token in X-Tether-Csrf. Sets req.principal, or
 * throws UNAUTHENTICATED / FORBIDDEN before any handler runs.
 */
export function httpAuthentication(authenticator: Authenticator) {
  return async (req: HttpRequest & { method: string }): Promise<void> => {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
      if (!bearer)
        throw new TetherError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"', {
          reason: 'MALFORMED_AUTHORIZATION',
        });
      const check = () => authenticator.verify(bearer, ['token']);
      req.principal = await check();
      req.reauthenticate = check;
      return;
    }
    const session = sessionTokenOf(req);
    if (session === undefined) {
      req.principal = await authenticator.verify(undefined);
      return;
    }
    const check = () => authenticator.verify(session, ['session']);
    req.principal = await check();
    req.reauthenticate = check;
    if (!SAFE_METHODS.has(req.method) && req.headers['x-tether-csrf'] !== csrfTokenFor(session))
      throw new TetherError(
        'FORBIDDEN',
        'a dashboard session sends its csrf_token (GET /v1/me) in X-Tether-Csrf with every change',
        { reason: 'CSRF' },
      );
  };
}
