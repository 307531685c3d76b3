import { timingSafeEqual } from 'node:crypto';
import {
  actorRef,
  type CredentialContext,
  type CredentialPurpose,
  type Principal,
  TetherError,
} from '@tether/contracts';
import type { ActorHost } from '../actor/host.ts';
import { type Clock, systemClock } from '../clock.ts';
import { LruMap } from '../actor/lru.ts';
import { parseToken, secretMatches } from './tokens.ts';

/** A credential as last read: trusted for RECHECK_MS, or until this host appends one of its events. */
interface Known {
  context: CredentialContext;
  state: string;
  readAt: number;
  /** The token that last proved this credential (kept in memory only): a repeat skips the sha256, which costs ~20 µs here. */
  proven?: Buffer;
}

/** How long a credential read from the log is trusted before it is read again (another host may have revoked it). */
export const CREDENTIAL_RECHECK_MS = 1_000;

const HOW =
  'send Authorization: Bearer <token> (HTTP) or the Tether-Credential header (NATS); `tether token create` makes one';

/**
 * Turns a token into who is asking. Reads the credential through the actor host (the log is the truth),
 * reads it again every second or so (a revoke on another host), and forgets it at once when this host
 * revokes it, uses it or expires it.
 */
export class Authenticator {
  private readonly known = new LruMap<string, Known>(10_000);
  private readonly reading = new Map<string, Promise<Known | undefined>>();
  /** Bumped when this host appends a credential's event: a read begun before it must not be cached. */
  private readonly changes = new Map<string, number>();

  constructor(
    private readonly host: Pick<ActorHost, 'state' | 'onApplied'>,
    private readonly opts: { clock?: Clock; recheckMs?: number } = {},
  ) {
    host.onApplied((e) => {
      if (e.entity !== 'credential') return;
      this.known.delete(e.entityId);
      this.changes.set(e.entityId, (this.changes.get(e.entityId) ?? 0) + 1);
    });
  }

  /**
   * The principal a token stands for; UNAUTHENTICATED when it is missing, malformed, unknown, wrong,
   * revoked, used or expired, or not for one of `purposes`. An unknown id and a wrong secret read alike.
   */
  async verify(token: string | undefined, purposes: readonly CredentialPurpose[] = ['token']): Promise<Principal> {
    if (!token) throw new TetherError('UNAUTHENTICATED', `no credential: ${HOW}`, { reason: 'NO_CREDENTIAL' });
    const parsed = parseToken(token);
    // Awaited only when the credential must be read: a cached one is checked without a microtask hop.
    const reading = parsed && this.read(parsed.credentialId);
    const known = reading instanceof Promise ? await reading : reading;
    if (!parsed || !known || !proves(known, token, parsed.secret))
      throw new TetherError('UNAUTHENTICATED', `the credential is not valid: ${HOW}`, { reason: 'INVALID_CREDENTIAL' });
    const c = known.context;
    const now = (this.opts.clock ?? systemClock).now().getTime();
    if (known.state !== 'active')
      throw new TetherError(
        'UNAUTHENTICATED',
        `credential ${parsed.credentialId} was ${known.state} at ${c.endedAt}; ask an operator for a new one`,
        { reason: `CREDENTIAL_${known.state.toUpperCase()}` },
      );
    if (c.expiresAt && Date.parse(c.expiresAt) <= now)
      throw new TetherError(
        'UNAUTHENTICATED',
        `credential ${parsed.credentialId} expired at ${c.expiresAt}; ask an operator for a new one`,
        { reason: 'CREDENTIAL_EXPIRED' },
      );
    if (c.parentId) await this.parentStillWorks(parsed.credentialId, c.parentId, now);
    if (!purposes.includes(c.purpose))
      throw new TetherError(
        'UNAUTHENTICATED',
        `credential ${parsed.credentialId} is a ${c.purpose} credential (${actorRef(c.actor)}), not usable here: ${HOW}`,
        { reason: 'WRONG_PURPOSE' },
      );
    return { actor: c.actor, role: c.role, credentialId: parsed.credentialId };
  }

  /** A sign-in link or session works only while the credential it was made with does (a short chain). */
  private async parentStillWorks(id: string, parentId: string | undefined, now: number, depth = 0): Promise<void> {
    if (!parentId) return;
    const parent = depth < 4 ? await this.read(parentId) : undefined;
    const why = !parent
      ? 'is unknown'
      : parent.state !== 'active'
        ? `was ${parent.state} at ${parent.context.endedAt}`
        : parent.context.expiresAt && Date.parse(parent.context.expiresAt) <= now
          ? `expired at ${parent.context.expiresAt}`
          : undefined;
    if (why)
      throw new TetherError(
        'UNAUTHENTICATED',
        `credential ${id} was made with credential ${parentId}, which ${why}; sign in again`,
        { reason: 'PARENT_CREDENTIAL_ENDED' },
      );
    await this.parentStillWorks(parentId, parent!.context.parentId, now, depth + 1);
  }

  /**
   * The credential as last read. Past RECHECK_MS it is read again in the background (the request in
   * hand is not held up by a read of the log); past 2 × RECHECK_MS, or never read, the request waits:
   * a revoke on another host holds within two seconds.
   */
  private read(id: string): Known | undefined | Promise<Known | undefined> {
    const cached = this.known.get(id);
    const age = cached ? Date.now() - cached.readAt : Number.POSITIVE_INFINITY;
    const recheck = this.opts.recheckMs ?? CREDENTIAL_RECHECK_MS;
    if (age < recheck) return cached;
    if (age < 2 * recheck) {
      void this.refresh(id).catch(() => undefined); // a failed read keeps the last answer until the limit
      return cached;
    }
    return this.refresh(id);
  }

  /** One read of the credential at a time; its answer replaces the cached one. */
  private refresh(id: string): Promise<Known | undefined> {
    let pending = this.reading.get(id);
    if (!pending) {
      const change = this.changes.get(id);
      pending = (async () => {
        const a = await this.host.state('credential', id);
        if (!a) return undefined;
        const proven = this.known.get(id)?.proven; // the same hash: a token that proved it still does
        const context = a.context as CredentialContext;
        const known = { context, state: String(a.value), readAt: Date.now(), proven };
        // A revoke this host applied while the read ran is newer than what it read: read again next time.
        if (this.changes.get(id) === change) this.known.set(id, known);
        return known;
      })().finally(() => this.reading.delete(id));
      this.reading.set(id, pending);
    }
    return pending;
  }
}

/** Whether `token` proves the credential: the same bytes as the token that last did (compared in constant time), else its secret's sha256. */
function proves(known: Known, token: string, secret: string): boolean {
  const presented = Buffer.from(token);
  if (known.proven && known.proven.length === presented.length && timingSafeEqual(known.proven, presented)) return true;
  if (!secretMatches(secret, known.context.hash)) return false;
  known.proven = presented;
  return true;
}
