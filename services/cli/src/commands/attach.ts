import WebSocket from 'ws';
import type { RelayMessage } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import type { Out } from '../output.ts';

/** Splits a share link (http://host/v/<share>#t=<token>) into where to connect and the token. */
export function parseLink(link: string): { wsUrl: string; shareId: string; token: string } {
  let u: URL;
  try {
    u = new URL(link);
  } catch {
    throw new TetherError(
      'INVALID_COMMAND',
      `"${link}" is not a share link; it looks like http://host:7420/v/<share>#t=<token>`,
    );
  }
  const m = /^\/v\/([A-Za-z0-9_-]{1,128})$/.exec(u.pathname);
  const token = new URLSearchParams(u.hash.slice(1)).get('t');
  if (!m || !token)
    throw new TetherError(
      'INVALID_COMMAND',
      `"${u.origin}${u.pathname}" is not a share link with a token; it looks like http://host:7420/v/<share>#t=<token>`,
    );
  return { wsUrl: `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/v1/shares/${m[1]}/ws`, shareId: m[1]!, token };
}

/**
 * `tether attach <link>`: the terminal in this terminal, read-only until the owner grants write.
 * Ends when the share ends, the participant is kicked, or Ctrl-] is pressed; exit 0 only for Ctrl-].
 */
export async function attach(out: Out, link: string | undefined): Promise<number> {
  if (!link) throw new TetherError('INVALID_COMMAND', "usage: tether attach '<share link>'");
  const { wsUrl, shareId, token } = parseLink(link);
  const ws = new WebSocket(wsUrl);
  const say = (text: string, data: unknown) =>
    out.json ? process.stderr.write(`${JSON.stringify(data)}\n`) : process.stderr.write(`\r\n[tether] ${text}\r\n`);
  const stdin = process.stdin;
  let detached = false;
  return new Promise<number>((resolve) => {
    ws.once('error', (err) => {
      say(`cannot reach ${wsUrl}: ${err.message}`, { type: 'error', message: err.message });
      resolve(1);
    });
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'hello', token, via: 'cli' }));
      if (stdin.isTTY) stdin.setRawMode(true);
      stdin.on('data', (d: Buffer) => {
        if (d.includes(0x1d)) {
          detached = true; // Ctrl-]
          return ws.close(1000, 'detached');
        }
        ws.send(JSON.stringify({ type: 'input', data: d.toString('utf8') }));
      });
      stdin.resume();
    });
    ws.on('message', (raw, binary) => {
      if (binary) return void process.stdout.write(raw as Buffer);
      const m = JSON.parse(raw.toString()) as RelayMessage;
      if (m.type === 'welcome')
        say(
          `attached to share ${shareId} as ${m.name} (${m.access === 'write' ? 'read-write' : 'read-only'}); Ctrl-] detaches`,
          m,
        );
      else if (m.type === 'access')
        say(m.access === 'write' ? `you may type now (until ${m.write_until})` : 'read-only again', m);
      else if (m.type === 'warning') say(`this share expires at ${m.expires_at}`, m);
      else if (m.type === 'waiting') say(`share ${shareId} is ${m.status}; waiting…`, m);
      else if (m.type === 'ended') say(`disconnected: ${m.reason}`, m);
      else if (m.type === 'refused') say(m.message, m);
    });
    ws.once('close', () => {
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      resolve(detached ? 0 : 1);
    });
  });
}
