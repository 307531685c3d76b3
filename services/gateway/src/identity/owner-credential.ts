import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from '@tether/contracts';
import type { ActorHost, Authenticator, Logger } from '@tether/runtime';
import { issueCredential, systemCommand } from './credentials.ts';

/** Where `tether up` keeps the owner's token (mode 0600); the CLI on this machine reads it. */
export const credentialFile = (home: string) => join(home, 'credential');

/**
 * The owner's credential: the token in $TETHER_HOME/credential if it still works, else a new operator
 * credential for the local user, written there (0600). A token that stopped working is replaced, and
 * the log says why, since whoever can read this folder owns this tether anyway.
 */
export async function ensureOwnerCredential(
  host: ActorHost,
  authenticator: Authenticator,
  opts: { home: string; user: string; logger: Logger },
): Promise<{ token: string; principal: Principal }> {
  const file = credentialFile(opts.home);
  let existing: string | undefined;
  try {
    existing = readFileSync(file, 'utf8').trim();
  } catch {
    /* first start */
  }
  if (existing) {
    try {
      return { token: existing, principal: await authenticator.verify(existing) };
    } catch (err) {
      opts.logger.warn(
        { file, reason: (err as Error).message },
        "the owner's credential no longer works; issuing a new one",
      );
    }
  }
  const issued = await issueCredential(host, systemCommand('credential', 'issue'), {
    actor: { kind: 'human', id: opts.user },
    role: 'operator',
    purpose: 'token',
    label: 'owner',
  });
  const token = issued.token!;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return { token, principal: await authenticator.verify(token) };
}
