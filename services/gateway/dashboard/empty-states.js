// tether dashboard: what the page says when there is nothing to show (a sentence saying what to do, with the
// README's command), and the closed lanes, folded away behind one toggle.
import { el } from '/dashboard/dom.js';

/** A sentence and the command that changes it. */
export const emptyState = (sentence, command) =>
  el('p', { class: 'empty' }, `${sentence} `, ...(command ? [el('code', { class: 'cmd' }, command)] : []));

/** An empty list inside a card: "none", and how to make one. */
export const emptyItem = (sentence, command) =>
  el('li', { class: 'muted' }, `${sentence} `, ...(command ? [el('code', { class: 'cmd' }, command)] : []));

let unfolded = false;
let redraw = () => undefined;
/** app.js: how to draw the lanes again when the toggle flips. */
export function onToggle(fn) {
  redraw = fn;
}

/**
 * The lane cards in order: open lanes, then a toggle "N closed lanes", then the closed ones only while it is
 * open. `card(lane)` draws one lane.
 */
export function lanesWithClosedFolded(lanes, card) {
  const open = lanes.filter((l) => l.value !== 'closed');
  const closed = lanes.filter((l) => l.value === 'closed');
  const out = open.map(card);
  if (open.length === 0) out.push(emptyState('No open lanes. Start one:', 'npx tether lane create --name "Fix login"'));
  if (closed.length > 0)
    out.push(
      el(
        'button',
        { type: 'button', id: 'closed-lanes-toggle', class: 'fold', 'aria-expanded': String(unfolded) },
        `${unfolded ? '▾' : '▸'} ${closed.length} closed lane${closed.length === 1 ? '' : 's'}`,
      ),
      ...(unfolded ? closed.map(card) : []),
    );
  return out;
}

/** Lines for what is empty across the page: no live shares, no approvals waiting. */
export function renderOverview({ terminal, share, approval }) {
  const box = document.getElementById('empty-states');
  const liveShares = Object.values(share).filter((s) => s.value !== 'ended').length;
  const pending = Object.values(approval).filter((a) => a.value === 'pending').length;
  const hasTerminal = Object.values(terminal).some((t) => t.value !== 'closed');
  const lines = [
    ...(liveShares === 0
      ? [
          el(
            'p',
            { class: 'empty', 'data-empty': 'shares' },
            hasTerminal
              ? 'No live shares. Share a terminal with "watch live" on it, or: '
              : 'No live shares: there is no terminal to share yet. Once there is one: ',
            el('code', { class: 'cmd' }, 'npx tether share create --terminal <terminal-id> --name bob'),
          ),
        ]
      : []),
    ...(pending === 0
      ? [
          el(
            'p',
            { class: 'empty', 'data-empty': 'approvals' },
            'No approvals waiting. Shares and handoffs a policy rule holds for an operator show up here; from a terminal: ',
            el('code', { class: 'cmd' }, 'npx tether approval list'),
          ),
        ]
      : []),
  ];
  const shown = JSON.stringify([liveShares === 0, pending === 0, hasTerminal]);
  if (box.dataset.shown === shown) return;
  box.dataset.shown = shown;
  box.replaceChildren(...lines);
}

document.addEventListener('click', (e) => {
  if (!e.target.closest?.('#closed-lanes-toggle')) return;
  unfolded = !unfolded;
  redraw();
});
