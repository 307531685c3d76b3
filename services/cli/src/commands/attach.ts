import WebSocket from 'ws';
import type { RelayMessage, RelaySize } from '@tether/contracts';
import { RECONNECT_GIVE_UP_MS, reconnectDelayMs, relayCloseIsFinal } from '@tether/contracts/relay-close';
import { TetherError } from '@tether/contracts/tether-error';
import { shortId, type Out } from '../output.ts';
import { fitsIn, viewerSize, type Size } from './attach-policy.ts';

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

const RESIZE_DEBOUNCE_MS = 100;
/** ESC c: a full reset, before a relay that cannot resume sends its whole scrollback again (nothing shown twice). */
const RESET_SCREEN = '\x1bc';

/**
 * `tether attach <link>`: the terminal in this terminal, read-only until the owner grants write. It sends its size
 * (hello, then on SIGWINCH), says whose size the terminal has and when this one is too small to show it all, and
 * comes back on its own after a blip or a tether restart, resuming where its output stopped. It ends when the share
 * ends or the participant is kicked (exit 1, with why) or on Ctrl-] (exit 0).
 */
export async function attach(out: Out, link: string | undefined): Promise<number> {
  if (!link) throw new TetherError('INVALID_COMMAND', "usage: tether attach '<share link>'");
  const { wsUrl, shareId, token } = parseLink(link);
  const say = (text: string, data: unknown) =>
    out.json ? process.stderr.write(`${JSON.stringify(data)}\n`) : process.stderr.write(`\r\n[tether] ${text}\r\n`);
  const { stdin, stdout } = process;
  const tty = Boolean(stdin.isTTY && stdout.isTTY);
  const localSize = (): Size | undefined => (tty ? viewerSize(stdout.columns, stdout.rows) : undefined);

  let ws: WebSocket | undefined;
  /** The output stream the relay serves and where in it the next byte is: sent back on reconnect to resume. */
  let resume: { stream: string; offset: number } | undefined;
  let welcomed = false;
  let remote: RelaySize | undefined;
  let letterboxed = false;
  let downSince: number | undefined;
  let attempt = 0;
  let finished = false;
  let done: (code: number) => void = () => undefined;
  const result = new Promise<number>((resolve) => (done = resolve));

  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    clearTimeout(resizeTimer);
    clearTimeout(retryTimer);
    stdout.off('resize', onResize);
    stdin.off('data', onInput);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    // A pipe paused from inside its own data event still holds the process open: let it go.
    (stdin as { unref?: () => void }).unref?.();
    done(code);
  };

  /** "sized by alice, 120x40", and a line whenever this terminal starts or stops being too small for it. */
  const showSize = (size: RelaySize, changed: boolean) => {
    if (changed) say(`sized by ${size.by ?? 'nobody yet'}, ${size.cols}x${size.rows}`, { type: 'size', ...size });
    const local = localSize();
    const small = !!local && !fitsIn(size, local);
    if (small && (!letterboxed || changed))
      say(
        `this terminal is ${local.cols}x${local.rows}, smaller than the shared ${size.cols}x${size.rows}: some of it is cut off; make this window larger to see it all`,
        { type: 'letterbox', local, remote: size },
      );
    else if (!small && letterboxed && local)
      say(`this terminal (${local.cols}x${local.rows}) shows all of the shared ${size.cols}x${size.rows} now`, {
        type: 'letterbox',
        local,
        remote: size,
        fits: true,
      });
    letterboxed = small;
  };

  const remoteSize = (size: RelaySize) => {
    const changed = !remote || remote.cols !== size.cols || remote.rows !== size.rows || remote.by !== size.by;
    remote = size;
    showSize(size, changed);
  };

  const send = (msg: object) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  let resizeTimer: NodeJS.Timeout | undefined;
  let sentSize: Size | undefined;
  /** SIGWINCH, debounced: a window dragged larger sends one resize, not fifty. */
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const size = localSize();
      if (!size) return;
      if (!sentSize || size.cols !== sentSize.cols || size.rows !== sentSize.rows) {
        sentSize = size;
        send({ type: 'resize', ...size });
      }
      if (remote) showSize(remote, false);
    }, RESIZE_DEBOUNCE_MS);
  };

  let droppedInput = false;
  const onInput = (d: Buffer) => {
    if (d.includes(0x1d)) {
      // Ctrl-]: this viewer's own choice, the only clean end.
      say('detached', { type: 'detached' });
      ws?.close(1000, 'detached');
      return finish(0);
    }
    if (ws?.readyState === WebSocket.OPEN) {
      droppedInput = false;
      ws.send(JSON.stringify({ type: 'input', data: d.toString('utf8') }));
    } else if (!droppedInput) {
      droppedInput = true;
      say('not connected: what you type now is not sent', { type: 'dropped' });
    }
  };

  let retryTimer: NodeJS.Timeout | undefined;
  const connect = () => {
    let ended: Extract<RelayMessage, { type: 'ended' }> | undefined;
    const socket = new WebSocket(wsUrl);
    ws = socket;
    let opened = false;
    let error = '';
    socket.on('error', (err) => (error = err.message)); // the close that follows says what happens next
    socket.once('open', () => {
      opened = true;
      const size = localSize();
      sentSize = size;
      socket.send(JSON.stringify({ type: 'hello', token, via: 'cli', ...size, ...(resume ? { resume } : {}) }));
    });
    socket.on('message', (raw: Buffer, binary) => {
      if (binary) {
        if (resume) resume.offset += raw.length;
        stdout.write(raw);
        return;
      }
      const m = JSON.parse(raw.toString()) as RelayMessage;
      switch (m.type) {
        case 'welcome': {
          const again = welcomed;
          // A relay that could not resume sends everything again: the screen starts over, so nothing shows twice.
          if (again && !m.resumed && !out.json) stdout.write(RESET_SCREEN);
          welcomed = true;
          attempt = 0;
          downSince = undefined;
          droppedInput = false;
          resume = { stream: m.stream, offset: m.offset };
          const access = m.access === 'write' ? 'read-write' : 'read-only';
          say(
            again
              ? `reconnected to share ${shortId(shareId)}${m.resumed ? ', output resumed where it stopped' : ', output from the start'} (${access})`
              : `attached to share ${shortId(shareId)} as ${m.name} (${access}); Ctrl-] detaches`,
            m,
          );
          remoteSize(m.size);
          break;
        }
        case 'size':
          remoteSize({ cols: m.cols, rows: m.rows, by: m.by });
          break;
        case 'access':
          say(m.access === 'write' ? `you may type now (until ${m.write_until})` : 'read-only again', m);
          break;
        case 'warning':
          say(`this share expires at ${m.expires_at}`, m);
          break;
        case 'waiting':
          say(`share ${shortId(shareId)} is ${m.status}; waiting…`, m);
          break;
        case 'ended':
          ended = m;
          break;
        case 'refused':
          say(m.message, m);
          break;
      }
    });
    socket.once('close', (code, why) => {
      if (finished) return;
      if (!welcomed && !opened) {
        // Never reached at all: a wrong host or port, or no tether there; retrying would only hide that.
        say(`cannot reach ${wsUrl}: ${error || `closed with code ${code}`}`, { type: 'error', message: error, code });
        return finish(1);
      }
      if (relayCloseIsFinal(code, ended !== undefined)) {
        say(
          `disconnected: ${ended?.reason ?? (why.toString() || `closed with code ${code}`)}`,
          ended ?? { type: 'closed', code },
        );
        return finish(1);
      }
      downSince ??= Date.now();
      if (Date.now() - downSince > RECONNECT_GIVE_UP_MS) {
        say(`gave up: no connection to ${wsUrl} for 10 minutes`, { type: 'gave_up', code });
        return finish(1);
      }
      const wait = reconnectDelayMs(attempt++, Math.random());
      say(
        attempt === 1
          ? `connection lost (${ended?.reason ?? (why.toString() || `code ${code}`)}); reconnecting…`
          : `reconnecting… (attempt ${attempt})`,
        { type: 'reconnecting', code, attempt, in_ms: wait },
      );
      retryTimer = setTimeout(connect, wait);
    });
  };

  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.resume();
  if (tty) stdout.on('resize', onResize);
  connect();
  return result;
}
