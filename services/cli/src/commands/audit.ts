import type { AuditList, AuditRecord, AuditVerdict } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { call } from '../http.ts';
import type { Out } from '../output.ts';

export interface AuditFlags {
  entity?: string;
  id?: string;
  last?: number;
  follow?: boolean;
}

const POLL_MS = 1_000;

const stateText = (s: AuditRecord['state']): string =>
  typeof s === 'string'
    ? s
    : Object.entries(s)
        .map(([k, v]) => `${k}.${stateText(v)}`)
        .join(',');

export const auditLine = (r: AuditRecord) =>
  `#${r.seq} ${r.at} ${r.actor.kind}:${r.actor.id} ${r.action} ${r.entity}/${r.entityId} -> ${stateText(r.state)}${r.reason ? `  "${r.reason}"` : ''}  corr=${r.correlationId}`;

/** `tether audit tail [--entity E] [--id ID] [--last N] [--no-follow]` and `tether audit verify`. */
export async function audit(out: Out, sub: string | undefined, f: AuditFlags): Promise<number> {
  if (sub === 'verify') return verify(out);
  if (sub === 'tail') return tail(out, f);
  throw new TetherError(
    'INVALID_COMMAND',
    'usage: tether audit tail [--entity E] [--id ID] [--last N] [--no-follow] | tether audit verify',
  );
}

async function verify(out: Out): Promise<number> {
  const v = await call<AuditVerdict>('GET', '/v1/audit/verify');
  out.print(
    `${
      v.ok
        ? `audit chain intact: ${v.records} records verified`
        : `audit chain BROKEN at record ${v.brokenAt}: ${v.why} (${v.records} records verified before it)`
    }${v.unkeyed ? `; ${v.unkeyed} of them from before the chain was keyed (plain sha256: proves order, not authorship)` : ''}`,
    v,
  );
  return v.ok ? 0 : 1;
}

/** Prints the newest records, then (unless --no-follow) new ones as they are written, until Ctrl-C. */
async function tail(out: Out, f: AuditFlags): Promise<number> {
  const last = f.last ?? 20; // checked while parsing: 1 to 1000
  const query = (extra: Record<string, string>) =>
    `/v1/audit?${new URLSearchParams({ ...(f.entity ? { entity: f.entity } : {}), ...(f.id ? { entity_id: f.id } : {}), ...extra })}`;
  const show = (items: AuditRecord[]) => {
    for (const r of items) out.line(r, auditLine(r));
  };

  const first = await call<AuditList>('GET', query({ limit: String(last) }));
  show(first.items);
  if (f.follow === false) return 0;
  let after = first.items.at(-1)?.seq ?? 0;
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!ac.signal.aborted) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (ac.signal.aborted) break;
      const page = await call<AuditList>('GET', query({ after: String(after), limit: '1000' }));
      show(page.items);
      after = page.items.at(-1)?.seq ?? after;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
