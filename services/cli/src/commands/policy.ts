import type { PolicyView } from '@tether/contracts';
import { call } from '../http.ts';
import type { Out } from '../output.ts';

/** The policy in force, a line per rule. */
function policyLines(p: PolicyView): string {
  const refusal = p.last_refusal
    ? [
        `last refused: ${p.last_refusal.file ?? 'built-in'} at ${p.last_refusal.at} (${p.last_refusal.trigger}): ${p.last_refusal.reason}`,
      ]
    : [];
  return [
    `policy   ${p.file ?? 'built-in default'} (${p.source}), loaded ${p.loaded_at} (${p.trigger})`,
    `watching ${p.watching ?? 'nothing (`tether policy reload` loads it again)'}`,
    ...p.rules.map(
      (r) =>
        `  ${r.id.padEnd(28)} ${r.effect}${r.requireApproval ? ' after approval' : ''}${r.actions ? ` ${r.actions.join('/')}` : ''}${r.actors ? ` by ${r.actors.join(',')}` : ''}${r.to ? ` to ${r.to.join(',')}` : ''}${r.access ? ` ${r.access.join('/')}` : ''}${r.backends ? ` on ${r.backends.join('/')}` : ''}${r.lanes ? ` lanes ${r.lanes.join(',')}` : ''}${r.terminals ? ` terminals ${r.terminals.join(',')}` : ''}`,
    ),
    ...refusal,
  ].join('\n');
}

/** `tether policy show|reload` (operators). */
export async function policy(out: Out, sub: 'show' | 'reload'): Promise<number> {
  const p =
    sub === 'reload'
      ? await call<PolicyView>('POST', '/v1/policy/reload', {})
      : await call<PolicyView>('GET', '/v1/policy');
  out.print(policyLines(p), p);
  return 0;
}
