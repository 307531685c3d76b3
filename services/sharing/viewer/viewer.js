// tether share viewer: one participant's view of a shared terminal. The share WebSocket carries JSON
// text frames for control (hello/input/resize up; welcome, size, access, warning… down) and binary frames
// of raw terminal output. The link's token lives in the URL fragment and travels only in the hello.
// The protocol (sizes, offsets, reconnects) is docs/share-protocol.md, in contracts/src/api/sharing.ts.
/* global Terminal, FitAddon */

/** The font this viewer's own size is measured at, and the smallest it is scaled down to before scrolling. */
const BASE_FONT = 14;
const MIN_FONT = 12;
/** Bounds of a size the relay takes (TerminalCols / TerminalRows in contracts). */
const BOUNDS = { cols: [10, 1000], rows: [4, 500] };
/** Reconnects: 250 ms doubling to 5 s, with jitter; given up after 10 minutes (reconnectDelayMs in contracts). */
const GIVE_UP_MS = 10 * 60_000;
/** Closes after which the viewer stops: the link or the participant is refused, or the share ended. */
const FINAL_CLOSES = new Set([4400, 4401, 4403, 4405, 4404, 4410]);
const SHUTTING_DOWN = 4503;

const $ = (id) => document.getElementById(id);
const shareId = decodeURIComponent(location.pathname.split('/').pop());
const token = takeToken();

/** The terminal's size as the relay last said (tether's panes start at 200x50) and whose it is. */
let remote = { cols: 200, rows: 50, by: null };
const term = new Terminal({
  cols: remote.cols,
  rows: remote.rows,
  cursorBlink: true,
  scrollback: 5000,
  fontSize: BASE_FONT,
});
const fit = new FitAddon.FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
/** This viewer's own size: the cells that fit its window at the base font (sent in hello and resize). */
let own = null;
own = layout();

/** For tests and scripts: the terminal's text (wrapped lines joined), its screen, its size and font. */
window.__tetherViewer = {
  text() {
    const buf = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buf.length; i++) {
      const line = buf.getLine(i);
      if (line?.isWrapped && lines.length) lines[lines.length - 1] += line.translateToString(true);
      else lines.push(line?.translateToString(true) ?? '');
    }
    return lines.join('\n').trimEnd();
  },
  /** The visible screen, one string per row, trailing blanks cut (as `tmux capture-pane -p` prints it). */
  screen() {
    const buf = term.buffer.active;
    return Array.from({ length: term.rows }, (_, i) => buf.getLine(buf.baseY + i)?.translateToString(true) ?? '');
  },
  size: () => ({ cols: term.cols, rows: term.rows, fontSize: term.options.fontSize, own }),
  /** Where the output stopped: the stream and the offset a reconnect resumes from. */
  position: () => ({ stream, offset }),
};

let expiresAt = null;
let noticeTimer;
/** The socket now, the stream it serves and how many of its bytes this page has (welcome's offset + bytes since). */
let ws;
let stream = null;
let offset = 0;
let attempt = 0;
let retryingSince = null;
setInterval(renderClock, 1_000);

if (!token) disconnected('this link has no token (…#t=…); ask the share owner for your link');
else connect();

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(onWindowResize, 100);
});

// Keystrokes go up as they are; the relay decides (a read-only participant gets `refused`).
term.onData((data) => {
  if (ws?.readyState !== WebSocket.OPEN || document.body.dataset.state !== 'open') return;
  for (let i = 0; i < data.length; i += 65_536)
    ws.send(JSON.stringify({ type: 'input', data: data.slice(i, i + 65_536) }));
});

function connect() {
  const sock = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/shares/${encodeURIComponent(shareId)}/ws`,
  );
  ws = sock;
  sock.binaryType = 'arraybuffer';
  let endedReason = null;
  sock.onopen = () =>
    sock.send(
      JSON.stringify({
        type: 'hello',
        token,
        via: 'browser',
        ...own,
        ...(stream ? { resume: { stream, offset } } : {}),
      }),
    );
  sock.onmessage = (e) => {
    if (typeof e.data !== 'string') {
      offset += e.data.byteLength;
      return term.write(new Uint8Array(e.data));
    }
    const msg = JSON.parse(e.data);
    if (msg.type === 'ended') endedReason = msg.reason; // the close that follows carries it too, cut to 123 bytes
    onMessage(msg);
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    const reason =
      endedReason ?? (e.reason || (e.code === 1006 ? 'the connection to tether was lost' : `code ${e.code}`));
    const final = e.code !== SHUTTING_DOWN && (FINAL_CLOSES.has(e.code) || endedReason !== null);
    if (final) return disconnected(reason);
    retryingSince ??= Date.now();
    if (Date.now() - retryingSince > GIVE_UP_MS)
      return disconnected(`${reason}; gave up reconnecting after 10 minutes (reload to try again)`);
    reconnecting(reason);
    const base = Math.min(5_000, 250 * 2 ** Math.min(attempt++, 10));
    setTimeout(connect, Math.round(base * (0.5 + Math.random() / 2)));
  };
}

function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      // Same stream: the frames that follow are exactly the missing bytes. Otherwise the whole scrollback
      // follows: the screen starts over (in the write queue, after what is still being drawn).
      if (!msg.resumed) term.write('\x1bc');
      stream = msg.stream;
      offset = msg.offset;
      attempt = 0;
      retryingSince = null;
      document.body.dataset.state = 'open';
      $('banner').hidden = true;
      $('who').textContent = msg.name;
      expiresAt = msg.expires_at;
      setAccess(msg.access, msg.write_until);
      setSize(msg.size);
      notice('');
      renderClock();
      term.options.disableStdin = false;
      term.options.cursorBlink = true;
      term.focus();
      break;
    case 'waiting':
      document.body.dataset.state = 'waiting';
      $('banner').hidden = true; // connected again; the share itself is not running yet
      $('who').textContent = 'waiting…';
      notice(`the share is not started yet (${msg.status}); you will be let in when it is`, 'info', 0);
      break;
    case 'size':
      setSize(msg);
      break;
    case 'access':
      setAccess(msg.access, msg.write_until);
      notice(msg.access === 'write' ? 'you may type now' : 'your write access ended', 'info');
      break;
    case 'warning':
      expiresAt = msg.expires_at;
      $('status').dataset.warning = 'true';
      notice(`this share ends at ${hhmm(msg.expires_at)} unless its owner extends it`, 'warning', 0);
      renderClock();
      break;
    case 'extended':
      expiresAt = msg.expires_at;
      delete $('status').dataset.warning;
      notice(`the share was extended until ${hhmm(msg.expires_at)}`, 'info');
      renderClock();
      break;
    case 'refused':
      notice(msg.message, 'refused');
      break;
  }
}

/** The terminal's size changed: the screen takes it, the font follows, the status bar says whose it is. */
function setSize(size) {
  remote = { cols: size.cols, rows: size.rows, by: size.by };
  $('size').textContent = `${size.by ? `sized by ${size.by}` : 'default size'}, ${size.cols}x${size.rows}`;
  own = layout();
}

/** The window changed: the relay hears this viewer's new size (it counts while this viewer may type). */
function onWindowResize() {
  const was = own;
  own = layout();
  if (ws?.readyState === WebSocket.OPEN && document.body.dataset.state === 'open')
    if (own && (own.cols !== was?.cols || own.rows !== was?.rows)) ws.send(JSON.stringify({ type: 'resize', ...own }));
}

/**
 * Measures the cells that fit the window at the base font (this viewer's own size), then draws the
 * terminal at its remote size: the font is scaled down until it fits, never below 12 px; past that the
 * terminal scrolls inside its box (letterboxed), never the page.
 */
function layout() {
  const box = $('terminal');
  box.style.overflow = 'hidden'; // measured without the scrollbars a larger terminal gave it
  term.options.fontSize = BASE_FONT;
  const fits = fit.proposeDimensions();
  let size = BASE_FONT;
  while (fits && size > MIN_FONT) {
    const now = fit.proposeDimensions();
    if (now && now.cols >= remote.cols && now.rows >= remote.rows) break;
    term.options.fontSize = --size;
  }
  box.style.overflow = '';
  if (term.cols !== remote.cols || term.rows !== remote.rows) term.resize(remote.cols, remote.rows);
  if (!fits || !Number.isFinite(fits.cols) || !Number.isFinite(fits.rows)) return own;
  const clamp = (v, [lo, hi]) => Math.max(lo, Math.min(hi, v));
  return { cols: clamp(fits.cols, BOUNDS.cols), rows: clamp(fits.rows, BOUNDS.rows) };
}

function setAccess(access, writeUntil) {
  $('status').dataset.access = access;
  $('access').textContent =
    access === 'write' ? (writeUntil ? `read-write until ${hhmm(writeUntil)}` : 'read-write') : 'read-only';
}

function renderClock() {
  if (!expiresAt || document.body.dataset.state !== 'open') return;
  const ms = Math.max(0, Date.parse(expiresAt) - Date.now());
  $('time-left').textContent = `time left ${duration(ms)}`;
}

/** A blip: the screen stays as it is while the page reconnects on its own. */
function reconnecting(reason) {
  document.body.dataset.state = 'reconnecting';
  $('banner').dataset.kind = 'reconnecting';
  $('banner').textContent = `reconnecting… (${reason})`;
  $('banner').hidden = false;
  $('access').textContent = 'reconnecting…';
  notice('');
}

function disconnected(reason) {
  document.body.dataset.state = 'closed';
  delete $('banner').dataset.kind;
  $('banner').textContent = `Disconnected: ${reason}`;
  $('banner').hidden = false;
  $('time-left').textContent = '';
  $('status').dataset.access = 'read';
  $('access').textContent = 'disconnected';
  notice('');
  term.options.disableStdin = true;
  term.options.cursorBlink = false;
}

/** A short notice in the status bar; `ms` 0 keeps it until the next one. */
function notice(text, kind = 'info', ms = 5_000) {
  const n = $('notice');
  clearTimeout(noticeTimer);
  n.textContent = text;
  n.dataset.kind = kind;
  n.hidden = !text;
  if (text && ms) noticeTimer = setTimeout(() => (n.hidden = true), ms);
}

/** The token from `#t=…`, kept for reloads of this tab and taken out of the address bar and history. */
function takeToken() {
  const key = `tether-share-token:${shareId}`;
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('t');
  if (fromLink) {
    sessionStorage.setItem(key, fromLink);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return fromLink ?? sessionStorage.getItem(key);
}

function hhmm(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
}

function duration(ms) {
  const s = Math.floor(ms / 1_000);
  const pad = (n) => String(n).padStart(2, '0');
  const mmss = `${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  return s >= 3_600 ? `${Math.floor(s / 3_600)}:${mmss}` : mmss;
}
