import type { ApprovalView, HandoffView } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { call } from '../http.ts';
import { shortId, type Out } from '../output.ts';

export interface HandoffFlags {
  terminal?: string;
  to?: string;
  note?: string;
  session?: string;
  reason?: string;
  live?: boolean;
}

const USAGE = `usage:
  tether handoff request --terminal T --to ai:codex-1|human:alice [--note N] [--session S]
  tether handoff approve <id> [--note N] | deny <id> --reason R
  tether handoff accept <id> [--session S] | cancel <id> [--reason R]
  tether handoff list [--terminal T] [--live] | inbox | show <id>`;

const need = (v: string | undefined, what: string): string => {
  if (!v) throw new TetherError('INVALID_COMMAND', `${what} is required\n${USAGE}`);
  return v;
};

const line = (h: HandoffView) =>
  `${shortId(h.handoff_id)}  ${h.status.padEnd(17)} terminal ${shortId(h.terminal_id)}  ${h.from} → ${h.to}${h.ended?.reason ? `  (${h.ended.reason})` : ''}`;

function details(h: HandoffView): string {
  const c = h.context;
  const out = [line(h)];
  if (h.note) out.push(`  note: ${h.note}`);
  out.push(`  policy ${h.policy.effect} (${h.policy.reason})`);
  if (c) {
    const g = c.git;
    out.push(
      `  cwd ${c.cwd}`,
      `  git ${g.branch ?? '(detached)'}${g.base ? ` vs ${g.base}: ${g.ahead} ahead, ${g.behind} behind` : ''}; ${g.staged} staged, ${g.unstaged} unstaged, ${g.untracked} untracked, ${g.conflicted} conflicted`,
      `  environment: ${c.env.names.length} variables (values sealed)`,
      `  scrollback snapshot: ${c.scrollback.bytes} bytes (${c.scrollback.ref})`,
    );
  }
  if (h.status === 'offered')
    out.push(`  offered until ${h.offer_expires_at}; accept: tether handoff accept ${shortId(h.handoff_id)}`);
  if (h.status === 'awaiting_approval')
    out.push(`  waiting for an operator: tether handoff approve ${shortId(h.handoff_id)}`);
  if (h.status === 'completed')
    out.push(
      `  the keyboard is ${h.to}'s: session ${shortId(h.to_session_id)} types into terminal ${shortId(h.terminal_id)} (tether terminal attach ${shortId(h.terminal_id)} on the machine where tether runs); ${shortId(h.from_session_id)} watches`,
    );
  return out.join('\n');
}

/** `tether handoff …`: a terminal's keyboard to an agent or a person. */
export async function handoff(
  out: Out,
  sub: string | undefined,
  id: string | undefined,
  f: HandoffFlags,
): Promise<number> {
  const path = (h = need(id, 'a handoff id')) => `/v1/handoffs/${encodeURIComponent(h)}`;
  switch (sub) {
    case 'request': {
      const h = await call<HandoffView>('POST', '/v1/handoffs', {
        terminal_id: need(f.terminal, '--terminal'),
        to: need(f.to, '--to'),
        ...(f.note ? { note: f.note } : {}),
        ...(f.session ? { session_id: f.session } : {}),
      });
      out.print(details(h), h);
      return h.status === 'failed' ? 1 : 0;
    }
    case 'approve':
    case 'deny': {
      // A handoff's approval has the handoff's id.
      const body = sub === 'deny' ? { reason: need(f.reason, '--reason') } : f.note ? { note: f.note } : {};
      const a = await call<ApprovalView>(
        'POST',
        `/v1/approvals/${encodeURIComponent(need(id, 'a handoff id'))}/${sub}`,
        body,
      );
      out.print(
        `approval ${shortId(a.approval_id)} ${a.status} by ${a.decided_by} (handoff ${shortId(a.handoff_id)})`,
        a,
      );
      return 0;
    }
    case 'accept': {
      const h = await call<HandoffView>('POST', `${path()}/accept`, f.session ? { session_id: f.session } : {});
      out.print(details(h), h);
      return h.status === 'completed' ? 0 : 1;
    }
    case 'cancel': {
      const h = await call<HandoffView>('POST', `${path()}/cancel`, f.reason ? { reason: f.reason } : {});
      out.print(line(h), h);
      return 0;
    }
    case 'show': {
      const h = await call<HandoffView>('GET', path());
      out.print(details(h), h);
      return 0;
    }
    case 'list': {
      const q = new URLSearchParams({
        ...(f.terminal ? { terminal_id: f.terminal } : {}),
        ...(f.live ? { live: 'true' } : {}),
      });
      const r = await call<{ items: HandoffView[] }>('GET', `/v1/handoffs?${q}`);
      out.print(r.items.length ? r.items.map(line).join('\n') : 'no handoffs', r);
      return 0;
    }
    case 'inbox': {
      const r = await call<{ items: HandoffView[] }>('GET', '/v1/handoffs/inbox');
      out.print(r.items.length ? r.items.map(details).join('\n') : 'nothing handed to you', r);
      return 0;
    }
    default:
      throw new TetherError('INVALID_COMMAND', USAGE);
  }
}
