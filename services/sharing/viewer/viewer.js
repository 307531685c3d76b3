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
/** The scrollbar xterm.js keeps beside a terminal with scrollback (its fit addon leaves it out). */
const SCROLLBAR = 14;
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
/** xterm.js's default font, named so the size sent before xterm.js has run is measured in it too. */
const FONT = 'courier-new, courier, monospace';
/** The terminal, once xterm.js has run; until then what the socket brings waits in `early` (in order). */
let term = null;
let fit = null;
const early = [];
/** This viewer's own size: the cells that fit its window at the base font (sent in hello and resize). */
let own = null;
/** The size the relay last heard from this viewer (hello or resize). */
let sent = null;
/** Whether the terminal was laid out yet (by a welcome, a size or a window resize). */
let laidOut = false;

/** For tests and scripts: the terminal's text (wrapped lines joined), its screen, its size and font. */
window.__tetherViewer = {
  text() {
    if (!term) return '';
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
    if (!term) return [];
    const buf = term.buffer.active;
    return Array.from({ length: term.rows }, (_, i) => buf.getLine(buf.baseY + i)?.translateToString(true) ?? '');
  },
  size: () => (term ? { cols: term.cols, rows: term.rows, fontSize: term.options.fontSize, own } : null),
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

// The share's WebSocket opens first: its hello and the relay's answer travel while xterm.js loads.
if (!token) whenTerminal(() => disconnected('this link has no token (…#t=…); ask the share owner for your link'));
else connect();
loadTerminal().then(startTerminal, (err) => {
  document.body.dataset.state = 'closed';
  $('banner').textContent = `Disconnected: ${err.message}; reload the page to try again`;
  $('banner').hidden = false;
  ws?.close();
});

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(onWindowResize, 100);
});

/** Runs xterm.js and its fit addon in order, from the URLs the page's preload hints already fetch. */
function loadTerminal() {
  const one = (name) =>
    new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = document.querySelector(`link[rel=preload][href*="/viewer/${name}"]`)?.href ?? `/viewer/${name}`;
      script.async = false; // both are fetched at once, run in this order
      script.onload = resolve;
      script.onerror = () => reject(new Error(`the terminal (${name}) could not be loaded`));
      document.body.append(script);
    });
  return Promise.all([one('xterm.js'), one('addon-fit.js')]);
}

function startTerminal() {
  term = new Terminal({
    cols: remote.cols,
    rows: remote.rows,
    cursorBlink: true,
    scrollback: 5000,
    fontSize: BASE_FONT,
    fontFamily: FONT,
  });
  fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($('terminal'));
  // Keystrokes go up as they are; the relay decides (a read-only participant gets `refused`).
  term.onData((data) => {
    if (ws?.readyState !== WebSocket.OPEN || document.body.dataset.state !== 'open') return;
    for (let i = 0; i < data.length; i += 65_536)
      ws.send(JSON.stringify({ type: 'input', data: data.slice(i, i + 65_536) }));
  });
  for (const run of early.splice(0)) run();
  // A welcome among them laid the terminal out at its remote size already (each font step redraws it all).
  if (!laidOut) own = layout();
}

/** Runs `fn` now if the terminal exists, else as soon as it does (after what the socket brought before it). */
function whenTerminal(fn) {
  if (term) fn();
  else early.push(fn);
}

function connect() {
  const sock = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/shares/${encodeURIComponent(shareId)}/ws`,
  );
  ws = sock;
  sock.binaryType = 'arraybuffer';
  let endedReason = null;
  // Before xterm.js has run, the size is measured from the box and the font once the page's styles are in
  // (a resize follows if xterm's differs).
  sock.onopen = () =>
    whenStyled(() => {
      if (ws !== sock || sock.readyState !== WebSocket.OPEN) return;
      sent = term ? own : estimateOwn();
      sock.send(
        JSON.stringify({
          type: 'hello',
          token,
          via: 'browser',
          ...sent,
          ...(stream ? { resume: { stream, offset } } : {}),
        }),
      );
    });
  sock.onmessage = (e) => {
    if (typeof e.data !== 'string') {
      const bytes = new Uint8Array(e.data);
      return whenTerminal(() => {
        offset += bytes.byteLength;
        term.write(bytes);
      });
    }
    const msg = JSON.parse(e.data);
    if (msg.type === 'ended') endedReason = msg.reason; // the close that follows carries it too, cut to 123 bytes
    whenTerminal(() => onMessage(msg));
  };
  sock.onclose = (e) => whenTerminal(() => onClose(sock, e, endedReason));
}

function onClose(sock, e, endedReason) {
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
      sendOwnSize();
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
  if (!term) return; // the terminal measures itself when it starts
  own = layout();
  sendOwnSize();
}

/** The relay hears this viewer's own size when it differs from what it last heard (hello or resize). */
function sendOwnSize() {
  if (ws?.readyState !== WebSocket.OPEN || document.body.dataset.state !== 'open') return;
  if (own && (own.cols !== sent?.cols || own.rows !== sent?.rows)) {
    sent = own;
    ws.send(JSON.stringify({ type: 'resize', ...own }));
  }
}

/** Runs `fn` once viewer.css is applied (at once if it is; also if it failed, when nothing better comes). */
function whenStyled(fn) {
  const css = $('viewer-css');
  if (!css || css.sheet) return fn();
  css.addEventListener('load', fn, { once: true });
  css.addEventListener('error', fn, { once: true });
}

/**
 * This viewer's own size before xterm.js has run, measured as its fit addon does: the box's content size
 * less a scrollbar, over the size of a cell of the base font. Null while the page's styles are not in.
 */
function estimateOwn() {
  if (!$('viewer-css')?.sheet) return null;
  const box = $('terminal');
  const probe = document.createElement('span');
  probe.style.cssText = `position:absolute;visibility:hidden;white-space:pre;line-height:normal;font-family:${FONT};font-size:${BASE_FONT}px`;
  probe.textContent = 'W'.repeat(32);
  box.append(probe);
  const cell = probe.getBoundingClientRect();
  probe.remove();
  const style = getComputedStyle(box);
  const cols = Math.floor((Number.parseInt(style.width, 10) - SCROLLBAR) / (cell.width / 32));
  const rows = Math.floor(Number.parseInt(style.height, 10) / Math.ceil(cell.height));
  if (!(cols > 0 && rows > 0)) return null;
  const clamp = (v, [lo, hi]) => Math.max(lo, Math.min(hi, v));
  return { cols: clamp(cols, BOUNDS.cols), rows: clamp(rows, BOUNDS.rows) };
}

/**
 * Measures the cells that fit the window at the base font (this viewer's own size), then draws the
 * terminal at its remote size: the font is scaled down until it fits, never below 12 px; past that the
 * terminal scrolls inside its box (letterboxed), never the page.
 */
function layout() {
  laidOut = true;
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
