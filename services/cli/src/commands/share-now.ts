import type { LaneView, SessionView, ShareCreated, TerminalView } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { parseDuration } from '../duration.ts';
import { call } from '../http.ts';
import { shortId, type Out } from '../output.ts';
import { lanesPath, terminal, type CpFlags } from './control-plane.ts';
import { createdText } from './share.ts';

export interface ShareNowFlags extends CpFlags {
  new?: boolean;
  terminal?: string;
  access?: string;
  ttl?: string;
  qr?: boolean;
  /** false with --no-attach */
  attach?: boolean;
  json?: boolean;
}

/** A terminal's states in which it runs a shell that can be shared. */
const LIVE = new Set(['active', 'throttled', 'spawning', 'idle']);

/**
 * `tether share`: the tether terminal it runs in (TETHER_TERMINAL_ID, set in every tether terminal), or --terminal,
 * read-only unless --access write. `tether share --new [--lane L]`: a lane (unless given), its session and a terminal
 * (unless the lane has one), shared, and you attached to it. Prints the link (and a QR code of it with --qr).
 */
export async function shareNow(out: Out, f: ShareNowFlags, env = process.env): Promise<number> {
  if (f.new && f.terminal)
    throw new TetherError(
      'INVALID_COMMAND',
      '--new makes a terminal to share and --terminal names one: give one of them, not both',
    );
  if (f.lane && !f.new)
    throw new TetherError('INVALID_COMMAND', '--lane goes with --new (the lane to make the terminal in); add --new');
  const ttlMs = f.ttl === undefined ? undefined : parseDuration(f.ttl);
  const made = f.new ? await newTerminal(f) : undefined;
  const terminalId = made?.terminal.terminal_id ?? f.terminal ?? env.TETHER_TERMINAL_ID;
  if (!terminalId)
    throw new TetherError(
      'INVALID_COMMAND',
      'this is not a tether terminal (TETHER_TERMINAL_ID is not set), so there is nothing here to share; pass --terminal <terminal-id> to share one, or --new to make a lane, a session and a terminal and share that',
    );
  const r = await call<ShareCreated>('POST', '/v1/shares', {
    terminal_id: terminalId,
    ...(f.access ? { access: f.access } : {}),
    ...(ttlMs ? { ttl_ms: ttlMs } : {}),
    ...(f.name ? { participant: f.name } : {}),
  });
  // The QR code's module is loaded only when asked for.
  const qr = f.qr && r.link && !out.json ? (await import('../qr-text.ts')).qrText(r.link.url) : undefined;
  const lines = [...(made ? [made.text] : []), createdText(r), ...(qr ? [qr] : [])];
  out.print(lines.join('\n'), made ? { ...made.json, ...r } : r);
  if (r.share.status === 'ended') return 1;
  if (!made || f.attach === false) return 0;
  const how = `tether terminal attach ${shortId(terminalId)}`;
  if (!process.stdin.isTTY || !process.stdout.isTTY || out.json) {
    const why = out.json ? 'the output is JSON' : 'this is not an interactive terminal';
    process.stderr.write(`not attaching: ${why}; attach with: ${how}\n`);
    return 0;
  }
  process.stderr.write(`attaching you to terminal ${shortId(terminalId)} (detach: Ctrl-b d; again: ${how})\n`);
  return terminal(out, 'attach', terminalId, f);
}

/** A lane (f.lane, else a new one), its session and a terminal to share: the lane's running one, else a new one. */
async function newTerminal(f: ShareNowFlags) {
  const lane = f.lane
    ? await call<LaneView>('GET', `${lanesPath(f)}/${encodeURIComponent(f.lane)}`)
    : await call<LaneView>('POST', lanesPath(f), {
        project_context_id: 'default',
        display_name: `shared terminal ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
      });
  if (lane.status === 'error' || lane.status === 'closed' || lane.status === 'cleaning')
    throw new TetherError(
      'NOT_ALLOWED',
      `lane ${shortId(lane.lane_id)} is ${lane.status}${lane.error ? ` (${lane.error.reason}: ${lane.error.message})` : ''}; give another with --lane, or leave --lane out for a new one`,
    );
  const path = `${lanesPath(f)}/${encodeURIComponent(lane.lane_id)}`;
  const existing = f.lane
    ? (await call<{ items: TerminalView[] }>('GET', `${path}/terminals`)).items.find((t) => LIVE.has(t.state))
    : undefined;
  const session = existing
    ? undefined
    : await call<SessionView>('POST', `${path}/sessions`, {
        provider: 'codex',
        ...(f.transport ? { preferred_transport: f.transport } : {}),
      });
  const term =
    existing ??
    (await call<TerminalView>('POST', `${path}/terminals`, { session_id: session!.session_id, title: 'shared' }));
  const text = [
    `lane ${shortId(lane.lane_id)}  ${lane.display_name}${f.lane ? '' : ' (new)'}`,
    `terminal ${shortId(term.terminal_id)}  ${term.state}${existing ? ' (the lane had it)' : ' (new)'}`,
  ].join('\n');
  return { terminal: term, text, json: { lane, ...(session ? { session } : {}), terminal: term } };
}
