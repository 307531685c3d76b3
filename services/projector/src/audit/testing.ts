import type { AuditEntry, AuditRecord } from '@tether/contracts';
import { sealRecord } from './audit-record.ts';

// Fixtures for the unit tests beside this file.

/** The audit key of the fixtures (tether's own comes from $TETHER_HOME/audit.key). */
export const KEY = Buffer.alloc(32, 7);

/** The n-th audit entry of a made-up share. */
export const entry = (n: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  eventId: `evt-${n}`,
  streamSeq: n * 2,
  at: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
  action: 'share.revoke',
  entity: 'share',
  entityId: 's1',
  actor: { kind: 'human', id: 'ann' },
  reason: 'done',
  state: 'revoked',
  correlationId: `corr-${n}`,
  causationId: `cmd-${n}`,
  data: { reason: 'done', nested: { b: 1, a: [2, { z: 1, y: 2 }] } },
  ...over,
});

/** A valid chain of `n` records. */
export function chain(n: number) {
  const out: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) out.push(sealRecord(entry(i), i, out.at(-1)?.hash ?? null, KEY));
  return out;
}
