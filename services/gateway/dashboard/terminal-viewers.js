// tether dashboard: any terminal, live in the page. "watch live" on a terminal asks for a link to it as the
// signed-in operator: a new participant of a live native share of that terminal the operator owns already,
// else a new read-only native share (POST /v1/shares: the policy gate, the TTL and the audit trail as for any
// share). The share viewer (/v/<share>#t=…) then shows it in a frame, read-only until the share's owner grants
// write from the share panel. Frames live outside the lane cards, so redrawing a lane never reconnects them.
import { el, rejectionText } from '/dashboard/dom.js';
import { post } from '/dashboard/recovery-banner.js';

const LIVE = new Set(['active', 'expiring']);
/** Frames shown, by terminal id: the share each watches. */
const shown = new Map();

/** The button on a terminal's row. */
export const watchButton = (t) =>
  el(
    'button',
    { type: 'button', class: 'watch', 'data-watch-terminal': t.entityId, title: 'open this terminal live in the page' },
    'watch live',
  );

const box = () => document.getElementById('terminal-viewers');

/** The share to join: a live native one of this terminal owned by `me`, write access first. */
function reusable(shares, terminalId, me) {
  return Object.values(shares)
    .filter(
      (s) =>
        s.context.terminalId === terminalId &&
        LIVE.has(s.value) &&
        s.context.backend === 'native' &&
        `${s.context.owner.kind}:${s.context.owner.id}` === me.actor,
    )
    .sort((a, b) => (a.context.access === b.context.access ? 0 : a.context.access === 'write' ? -1 : 1))[0];
}

/** Opens (or brings forward) the frame of one terminal; `title` names it, `shares` are the store's. */
export async function watch(terminalId, { title, shares, me }) {
  const open = box().querySelector(`[data-viewer-terminal="${CSS.escape(terminalId)}"]`);
  if (open && shares[shown.get(terminalId)]?.value !== 'ended') return open.scrollIntoView({ block: 'nearest' });
  const card = frameCard(terminalId, title);
  const name = `${me.actor.slice(me.actor.indexOf(':') + 1)} (dashboard)`;
  const s = reusable(shares, terminalId, me);
  const { reply, rejection } = s
    ? await post(`/v1/shares/${encodeURIComponent(s.entityId)}/participants`, { name })
    : await post('/v1/shares', { terminal_id: terminalId, backend: 'native', access: 'read', participant: name });
  const link = s ? reply : reply?.link;
  const error = card.querySelector('.error');
  if (rejection || !link) {
    error.hidden = false;
    error.textContent = rejection
      ? `no link to this terminal: ${rejectionText(rejection)}`
      : `share ${reply.share.share_id.slice(0, 8)} is ${reply.share.status}: the frame opens once it is active (watch again then)`;
    return;
  }
  error.hidden = true;
  const shareId = s?.entityId ?? reply.share.share_id;
  shown.set(terminalId, shareId);
  card.dataset.shareId = shareId;
  const url = new URL(link.url); // same origin as the page, whatever public address the link names
  card.querySelector('iframe').setAttribute('src', `${url.pathname}${url.hash}`);
}

/** The card of one terminal's frame, made once. */
function frameCard(terminalId, title) {
  const existing = box().querySelector(`[data-viewer-terminal="${CSS.escape(terminalId)}"]`);
  if (existing) return existing;
  box().hidden = false;
  const card = el(
    'article',
    { class: 'terminal-viewer', 'data-viewer-terminal': terminalId, 'aria-label': `terminal ${title} live` },
    el(
      'h2',
      {},
      `terminal ${title} `,
      el('span', { class: 'muted' }, 'live, read-only unless granted'),
      el('button', { type: 'button', class: 'close', 'data-close-viewer': '', 'aria-label': 'close' }, '×'),
    ),
    el('div', { class: 'error', role: 'alert', hidden: '' }),
    el('iframe', { class: 'terminal', title: `terminal ${title}` }),
  );
  box().append(card);
  return card;
}

document.addEventListener('click', (e) => {
  const close = e.target.closest?.('#terminal-viewers [data-close-viewer]');
  if (!close) return;
  const card = close.closest('[data-viewer-terminal]');
  shown.delete(card.dataset.viewerTerminal);
  card.remove();
  box().hidden = box().children.length === 0;
});
