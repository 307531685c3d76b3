import type { ApprovalView, ParticipantLink, ParticipantView, ShareCreated, ShareView } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { parseDuration } from '../duration.ts';
import { call } from '../http.ts';
import { shortId, type Out } from '../output.ts';

export interface ShareFlags {
  terminal?: string;
  backend?: string;
  access?: string;
  ttl?: string;
  name?: string;
  reason?: string;
  note?: string;
  live?: boolean;
}

const USAGE = `usage:
  tether share [--terminal T] [--name VIEWER] | share --new [--lane L] [--qr] [--no-attach]
  tether share create --terminal T [--backend native|tmate|upterm] [--access read|write] [--ttl 30m] [--name VIEWER]
  tether share list [--terminal T] [--live] | show <share> | links <share>
  tether share extend <share> --ttl 15m | revoke <share> [--reason R] | switch <share> --backend B
  tether share invite <share> --name N | participants <share>
  tether share grant-write <share> <participant> [--ttl 15m] | revoke-write <share> <participant> | kick <share> <participant>
  tether approval list | approve <id> [--note N] | deny <id> --reason R`;

const need = (v: string | undefined, what: string): string => {
  if (!v) throw new TetherError('INVALID_COMMAND', `${what} is required\n${USAGE}`);
  return v;
};

/** "12m3s left", "40s left" (nothing for no deadline). */
export const left = (ms: number | null) =>
  ms === null
    ? ''
    : ms >= 60_000
      ? `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1_000)}s left`
      : `${Math.floor(ms / 1_000)}s left`;
const shareLine = (s: ShareView) =>
  `${shortId(s.share_id)}  ${s.status.padEnd(17)} ${s.backend.padEnd(6)} ${s.access.padEnd(5)} terminal ${shortId(s.terminal_id)}  ${s.status === 'ended' ? `${s.ended!.reason}${s.ended!.detail ? `: ${s.ended!.detail}` : ''}` : `${left(s.ms_left)}, ${s.participants.filter((p) => p.connected).length}/${s.participants.length} connected`}`;
const participantLine = (p: ParticipantView) =>
  `${shortId(p.participant_id)}  ${p.name.padEnd(12)} ${p.access}${p.write_until ? ` until ${p.write_until}` : ''}  ${p.kicked ? 'kicked' : p.connected ? 'connected' : 'not connected'}`;
/** A participant's link, how to attach with it (with tether, or with only Node: the tether serves its CLI), and how to kick them. */
export const linkLines = (l: ParticipantLink) => {
  const url = new URL(l.url);
  const shareId = decodeURIComponent(url.pathname.replace(/^\/v\//, ''));
  return [
    `link for ${l.name} (participant ${shortId(l.participant_id)}; read-only until granted; shown once):`,
    `  ${l.url}`,
    `  tether attach '${l.url}'`,
    `  with only Node: curl -fsS ${url.origin}/tether.mjs -o /tmp/tether.mjs && node /tmp/tether.mjs attach '${l.url}'`,
    `  to disconnect them: tether share kick ${shortId(shareId)} ${shortId(l.participant_id)}`,
  ].join('\n');
};
const approvalLine = (a: ApprovalView) =>
  `${shortId(a.approval_id)}  ${a.status.padEnd(8)} ${a.handoff_id ? `handoff ${shortId(a.handoff_id)}` : `share ${shortId(a.share_id)}`} by ${a.requested_by}  (${a.reason})${a.decided_by ? `  decided by ${a.decided_by}` : ''}`;

/** A share just made: its line, then its link (or where a backend's links are, or who must approve it). */
export function createdText(r: ShareCreated): string {
  const extra =
    r.share.status === 'awaiting_approval'
      ? `\nwaiting for an operator: tether approval approve ${shortId(r.share.approval_id)}`
      : '';
  return `${shareLine(r.share)}${r.link ? `\n${linkLines(r.link)}` : r.share.backend !== 'native' ? `\nlinks: tether share links ${shortId(r.share.share_id)}` : ''}${extra}`;
}

/** `tether share …` */
export async function share(
  out: Out,
  sub: string | undefined,
  id: string | undefined,
  participant: string | undefined,
  f: ShareFlags,
): Promise<number> {
  const path = (s = need(id, 'a share id')) => `/v1/shares/${encodeURIComponent(s)}`;
  switch (sub) {
    case 'create': {
      const r = await call<ShareCreated>('POST', '/v1/shares', {
        terminal_id: need(f.terminal, '--terminal'),
        ...(f.backend ? { backend: f.backend } : {}),
        ...(f.access ? { access: f.access } : {}),
        ...(f.ttl ? { ttl_ms: parseDuration(f.ttl) } : {}),
        ...(f.name ? { participant: f.name } : {}),
      });
      out.print(createdText(r), r);
      return r.share.status === 'ended' ? 1 : 0;
    }
    case 'list': {
      const q = new URLSearchParams({
        ...(f.terminal ? { terminal_id: f.terminal } : {}),
        ...(f.live ? { live: 'true' } : {}),
      });
      const r = await call<{ items: ShareView[]; next_cursor: string | null }>('GET', `/v1/shares?${q}`);
      const more = r.next_cursor
        ? `\n(the ${r.items.length} most recently changed; more in GET /v1/shares?cursor=${r.next_cursor})`
        : '';
      out.print(r.items.length ? r.items.map(shareLine).join('\n') + more : 'no shares', r);
      return 0;
    }
    case 'show': {
      const s = await call<ShareView>('GET', path());
      out.print(
        [
          shareLine(s),
          `  owner ${s.owner}; policy ${s.policy.effect} (${s.policy.reason}); expires ${s.expires_at ?? '-'}`,
          ...s.participants.map((p) => `  ${participantLine(p)}`),
        ].join('\n'),
        s,
      );
      return 0;
    }
    case 'links': {
      const r = await call<{ links: Record<string, string> }>('GET', `${path()}/links`);
      out.print(
        Object.entries(r.links)
          .map(([k, v]) => `${k.padEnd(7)} ${v}`)
          .join('\n'),
        r,
      );
      return 0;
    }
    case 'extend': {
      const s = await call<ShareView>('POST', `${path()}/extend`, { ttl_ms: parseDuration(need(f.ttl, '--ttl')) });
      out.print(`${shareLine(s)}\n  expires ${s.expires_at}`, s);
      return 0;
    }
    case 'revoke': {
      const s = await call<ShareView>('POST', `${path()}/revoke`, f.reason ? { reason: f.reason } : {});
      out.print(shareLine(s), s);
      return 0;
    }
    case 'switch': {
      const r = await call<ShareCreated>('POST', `${path()}/switch`, { backend: need(f.backend, '--backend') });
      out.print(`${shareLine(r.share)}${r.link ? `\n${linkLines(r.link)}` : ''}`, r);
      return r.share.status === 'ended' ? 1 : 0;
    }
    case 'invite': {
      const l = await call<ParticipantLink>('POST', `${path()}/participants`, { name: need(f.name, '--name') });
      out.print(linkLines(l), l);
      return 0;
    }
    case 'participants': {
      const r = await call<{ items: ParticipantView[] }>('GET', `${path()}/participants`);
      out.print(r.items.length ? r.items.map(participantLine).join('\n') : 'no participants', r);
      return 0;
    }
    case 'grant-write':
    case 'revoke-write':
    case 'kick': {
      const p = `${path()}/participants/${encodeURIComponent(need(participant, 'a participant id'))}/${sub}`;
      const body =
        sub === 'grant-write' ? (f.ttl ? { ttl_ms: parseDuration(f.ttl) } : {}) : f.reason ? { reason: f.reason } : {};
      const s = await call<ShareView>('POST', p, body);
      out.print(
        s.participants
          .filter((x) => x.participant_id.startsWith(participant!)) // the id as given, or a prefix of it
          .map(participantLine)
          .join('\n'),
        s,
      );
      return 0;
    }
    default:
      throw new TetherError('INVALID_COMMAND', USAGE);
  }
}

/** `tether approval list|approve|deny` */
export async function approval(
  out: Out,
  sub: string | undefined,
  id: string | undefined,
  f: ShareFlags,
): Promise<number> {
  if (sub === 'list') {
    const r = await call<{ items: ApprovalView[] }>('GET', '/v1/approvals');
    out.print(r.items.length ? r.items.map(approvalLine).join('\n') : 'no approvals', r);
    return 0;
  }
  if (sub === 'approve' || sub === 'deny') {
    const body = sub === 'deny' ? { reason: need(f.reason, '--reason') } : f.note ? { note: f.note } : {};
    const a = await call<ApprovalView>(
      'POST',
      `/v1/approvals/${encodeURIComponent(need(id, 'an approval id'))}/${sub}`,
      body,
    );
    out.print(approvalLine(a), a);
    return 0;
  }
  throw new TetherError('INVALID_COMMAND', USAGE);
}
