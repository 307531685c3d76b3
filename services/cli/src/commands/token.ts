import type { CredentialCreated, CredentialView, LoginLink } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { parseDuration } from '../duration.ts';
import { call } from '../http.ts';
import { shortId, type Out } from '../output.ts';

export interface TokenFlags {
  actor?: string;
  role?: string;
  ttl?: string;
  label?: string;
  reason?: string;
}

const credentialLine = (c: CredentialView) =>
  `${shortId(c.credential_id)}  ${c.state.padEnd(7)} ${c.role.padEnd(8)} ${c.purpose.padEnd(7)} ${c.actor}${c.label ? `  "${c.label}"` : ''}  ${c.state === 'active' ? (c.expires_at ? `until ${c.expires_at}` : 'no expiry') : `${c.state} ${c.ended_at}${c.reason ? ` (${c.reason})` : ''}`}`;

/** `tether token create|list|revoke`: credentials for people, agents and services. */
export async function token(out: Out, sub: string | undefined, id: string | undefined, f: TokenFlags): Promise<number> {
  if (sub === 'create') {
    if (!f.actor || !f.role)
      throw new TetherError(
        'INVALID_COMMAND',
        'tether token create --actor human:alice --role operator|member|viewer|agent|service [--ttl 30d] [--label L]',
      );
    const c = await call<CredentialCreated>('POST', '/v1/credentials', {
      actor: f.actor,
      role: f.role,
      ...(f.ttl ? { ttl_ms: parseDuration(f.ttl) } : {}),
      ...(f.label ? { label: f.label } : {}),
    });
    out.print(
      c.token
        ? `${credentialLine(c)}\ntoken (shown once; give it to ${c.actor} as TETHER_TOKEN):\n  ${c.token}`
        : `${credentialLine(c)}\nthis create was answered before and its token shown then; revoke it and create another`,
      c,
    );
    return 0;
  }
  if (sub === 'list') {
    const r = await call<{ items: CredentialView[] }>('GET', '/v1/credentials');
    out.print(r.items.length ? r.items.map(credentialLine).join('\n') : 'no credentials', r);
    return 0;
  }
  if (sub === 'revoke') {
    if (!id) throw new TetherError('INVALID_COMMAND', 'tether token revoke <credential-id> [--reason R]');
    const c = await call<CredentialView>(
      'POST',
      `/v1/credentials/${encodeURIComponent(id)}/revoke`,
      f.reason ? { reason: f.reason } : {},
    );
    out.print(credentialLine(c), c);
    return 0;
  }
  throw new TetherError('INVALID_COMMAND', 'tether token create|list|revoke');
}

/** `tether login`: a one-time link that signs the dashboard in as you. */
export async function login(out: Out): Promise<number> {
  const l = await call<LoginLink>('POST', '/v1/login-links');
  out.print(`open this link to sign in to the dashboard (works once, until ${l.expires_at}):\n  ${l.url}`, l);
  return 0;
}
