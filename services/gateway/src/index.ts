export * from './server.ts';
export * from './metrics.ts';
export * from './register-routes.ts';
export * from './identity/identity.capability.ts';
export * from './identity/owner-credential.ts';
export * from './identity/credentials.ts';
export { SESSION_COOKIE, csrfTokenFor } from './identity/sessions.ts';
