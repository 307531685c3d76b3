// tether share viewer: one participant's view of a shared terminal. The share WebSocket carries JSON
// text frames for control (hello/input up; welcome, access, warning… down) and binary frames of raw
// terminal output. The link's token lives in the URL fragment and travels only in the hello.
/* global Terminal, FitAddon */

/** tether's tmux panes are 200x50 (workers/src/terminals/tmux.ts): output is drawn for that size. */
const REMOTE = { cols: 200, rows: 50 };
const $ = (id) => document.getElementById(id);
const shareId = decodeURIComponent(location.pathname.split('/').pop());
const token = takeToken();

const term = new Terminal({ cols: REMOTE.cols, rows: REMOTE.rows, cursorBlink: true, scrollback: 5000, fontSize: 14 });
const fit = new FitAddon.FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
fitFont();
window.addEventListener('resize', fitFont);

/** For tests and scripts: the terminal's text, wrapped lines joined. */
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
};

let expiresAt = null;
let endedReason = null;
let noticeTimer;
setInterval(renderClock, 1_000);

if (!token) disconnected('this link has no token (…#t=…); ask the share owner for your link');
else connect();

function connect() {
  const ws = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/shares/${encodeURIComponent(shareId)}/ws`,
  );
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token, via: 'browser' }));
  ws.onmessage = (e) =>
    typeof e.data === 'string' ? onMessage(JSON.parse(e.data)) : term.write(new Uint8Array(e.data));
  ws.onclose = (e) =>
    disconnected(
      endedReason ??
        (e.reason || (e.code === 1006 ? 'the connection to tether was lost' : `connection closed (code ${e.code})`)),
    );
  // Keystrokes go up as they are; the relay decides (a read-only participant gets `refused`).
  term.onData((data) => {
    if (ws.readyState !== WebSocket.OPEN || document.body.dataset.state !== 'open') return;
    for (let i = 0; i < data.length; i += 65_536)
      ws.send(JSON.stringify({ type: 'input', data: data.slice(i, i + 65_536) }));
  });
}

function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      document.body.dataset.state = 'open';
      $('who').textContent = msg.name;
      expiresAt = msg.expires_at;
      setAccess(msg.access, msg.write_until);
      notice('');
      renderClock();
      term.focus();
      break;
    case 'waiting':
      document.body.dataset.state = 'waiting';
      $('who').textContent = 'waiting…';
      notice(`the share is not started yet (${msg.status}); you will be let in when it is`, 'info', 0);
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
    case 'ended':
      endedReason = msg.reason; // the close that follows carries it too, cut to 123 bytes
      break;
  }
}

function setAccess(access, writeUntil) {
  $('status').dataset.access = access;
  $('access').textContent =
    access === 'write' ? (writeUntil ? `read-write until ${hhmm(writeUntil)}` : 'read-write') : 'read-only';
}

function renderClock() {
  if (!expiresAt || document.body.dataset.state === 'closed') return;
  const ms = Math.max(0, Date.parse(expiresAt) - Date.now());
  $('time-left').textContent = `time left ${duration(ms)}`;
}

function disconnected(reason) {
  document.body.dataset.state = 'closed';
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

/** Scales the font so the remote pane's 200 columns fit the window (within readable sizes). */
function fitFont() {
  const fits = fit.proposeDimensions(); // columns and rows that fit at the current font size
  if (!fits) return;
  const size = Math.max(8, Math.min(15, Math.floor((term.options.fontSize * fits.cols) / REMOTE.cols)));
  if (size !== term.options.fontSize) term.options.fontSize = size;
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
