import { createHash } from 'node:crypto';
import { formatDuration, TetherError, type Command, type CommandAccepted } from '@tether/contracts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { KeyValueStore, KvBucket } from '../store/port.ts';

export const COMMAND_LEDGER_BUCKET = 'tether_commands';
export const DEFAULT_COMMAND_RETENTION_MS = 7 * 24 * 3_600_000;

/** What a command id was used for: a resend must ask for the same thing to get the same answer. */
interface Fingerprint {
  entity: string;
  verb: string;
  /** The entityId the caller named, if any (creates get theirs derived from the command id). */
  entityId?: string;
  actor: string;
  /** sha256 of the data as sent, keys sorted. */
  data: string;
}

interface LedgerEntry {
  fingerprint: Fingerprint;
  /** Absent for a reply that carries a secret: the command answers its resend itself. */
  reply?: CommandAccepted;
  at: string;
}

export interface CommandLedgerOptions {
  store: KeyValueStore;
  clock: Clock;
  log: Logger;
  /** How long an id is answered with its result (TETHER_COMMAND_RETENTION_MS). */
  retentionMs?: number;
}

/**
 * Command id → the reply it got, for every command from outside tether, on both stores. A resend
 * within the retention is answered from here (`duplicate: true`), even an application command's
 * composed reply; past it, with COMMAND_EXPIRED. Values live twice the retention, so an expired id is
 * still recognised for a while; after that the entity's own history recognises it (see ActorHost).
 */
export class CommandLedger {
  readonly retentionMs: number;
  private bucket?: Promise<KvBucket>;

  constructor(private readonly opts: CommandLedgerOptions) {
    this.retentionMs = opts.retentionMs ?? DEFAULT_COMMAND_RETENTION_MS;
  }

  /**
   * What the ledger knows of `cmd.id`: its original reply (unless that was secret), or undefined when the id is new.
   * @throws CONFLICT when the id was used for another request, or longer ago than the retention.
   */
  async recall(cmd: Command): Promise<{ reply?: CommandAccepted } | undefined> {
    const entry = (await (await this.open()).get<LedgerEntry>(ledgerKey(cmd.id)))?.value;
    if (!entry) return undefined;
    const mismatch = differences(entry.fingerprint, fingerprintOf(cmd));
    if (mismatch.length > 0) {
      // Another actor's command is none of this caller's business: say only that the id is taken.
      const what = mismatch.includes('actor')
        ? 'by another actor'
        : `for ${describe(entry.fingerprint)}, with another ${mismatch.join(', ')}`;
      throw new TetherError(
        'CONFLICT',
        `command id ${cmd.id} was already used ${what}; send a fresh id for a new command`,
        { reason: 'COMMAND_ID_REUSED' },
      );
    }
    if (Date.parse(entry.at) + this.retentionMs <= this.opts.clock.now().getTime())
      throw expired(cmd.id, entry.at, this.retentionMs);
    return entry.reply ? { reply: { ...entry.reply, duplicate: true } } : {};
  }

  /** Remembers the id (and the reply, unless it is secret); a failed write is logged, not thrown: the command is done. */
  async record(
    cmd: Command,
    reply: CommandAccepted,
    opts: { withReply: boolean } = { withReply: true },
  ): Promise<void> {
    const entry: LedgerEntry = {
      fingerprint: fingerprintOf(cmd),
      ...(opts.withReply ? { reply: { ...reply, duplicate: false } } : {}),
      at: this.opts.clock.now().toISOString(),
    };
    try {
      await (await this.open()).put(ledgerKey(cmd.id), entry);
    } catch (err) {
      this.opts.log.warn(
        { err: String(err), correlationId: cmd.correlationId, commandId: cmd.id },
        'command ledger write failed; a resend is answered from the entity history instead',
      );
    }
  }

  private open(): Promise<KvBucket> {
    this.bucket ??= this.opts.store.kv(COMMAND_LEDGER_BUCKET, { ttlMs: 2 * this.retentionMs });
    this.bucket.catch(() => (this.bucket = undefined)); // retried on the next command
    return this.bucket;
  }
}

/** The error for a command id whose result is no longer kept: nothing is done again. */
export function expired(commandId: string, at: string, retentionMs: number): TetherError {
  return new TetherError(
    'CONFLICT',
    `command id ${commandId} was applied at ${at}, longer ago than results are kept (TETHER_COMMAND_RETENTION_MS, ${formatDuration(retentionMs)}); nothing was done again. Read the entity for its state, or send a fresh id for a new command`,
    { reason: 'COMMAND_EXPIRED' },
  );
}

// KV keys allow few characters, and ids are the caller's: hash them.
const ledgerKey = (id: string) => createHash('sha256').update(id).digest('hex').slice(0, 48);

function fingerprintOf(cmd: Command): Fingerprint {
  return {
    entity: cmd.entity,
    verb: cmd.verb,
    ...(cmd.entityId === undefined ? {} : { entityId: cmd.entityId }),
    actor: `${cmd.actor.kind}:${cmd.actor.id}`,
    data: createHash('sha256')
      .update(stableJson(cmd.data ?? {}))
      .digest('hex'),
  };
}

const differences = (a: Fingerprint, b: Fingerprint): string[] =>
  (['entity', 'verb', 'entityId', 'actor', 'data'] as const).filter((k) => a[k] !== b[k]);

const describe = (f: Fingerprint) => `${f.entity}.${f.verb}${f.entityId ? ` on ${f.entityId}` : ''}`;

/** JSON with object keys sorted, so {a,b} and {b,a} are one request. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}
