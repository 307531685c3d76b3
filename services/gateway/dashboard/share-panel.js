// tether dashboard: what the share panel can do. Revoke, kick, extend, grant and revoke write: each is the
// share's own API route, sent as the signed-in operator (session cookie and CSRF header, the same path as any
// API client); revoke and kick wait for a confirmation in the panel. The outcome (what was done, or the
// error's code and message) stays in the panel; the share itself is redrawn from the live stream by app.js.
import { el, rejectionText } from '/dashboard/dom.js';
import { post } from '/dashboard/recovery-banner.js';

const EXTEND = [
  ['+5 min', 5 * 60_000],
  ['+15 min', 15 * 60_000],
  ['+1 h', 3_600_000],
];
const GRANT_MS = 15 * 60_000;

/** The action waiting for a confirmation ({share, act, participant}), its reason as typed, the last outcome per share. */
let confirming = null;
let reason = '';
const outcomes = new Map();
let redraw = () => undefined;

/** app.js: how to draw the panel again once an outcome or a confirmation changes. */
export function onChange(fn) {
  redraw = fn;
}

/** What the panel shows besides the share itself: when it changes, the panel is drawn again. */
export const shownState = (shareId) => [confirming?.share === shareId ? confirming : null, outcomes.get(shareId)];

const path = (s, p, verb) =>
  `/v1/shares/${encodeURIComponent(s)}${p ? `/participants/${encodeURIComponent(p)}` : ''}/${verb}`;
const withReason = () => (reason.trim() ? { reason: reason.trim() } : {});

/** Each action: its call, what to say once done, and (destructive ones) what to confirm. */
const ACTS = {
  revoke: {
    confirm: () => 'Revoke this share? Every participant is disconnected and the share ends.',
    call: (s) => post(path(s, null, 'revoke'), withReason()),
    done: () => 'revoked',
  },
  kick: {
    confirm: (name) => `Kick ${name}? They are disconnected and their link stops working.`,
    call: (s, p) => post(path(s, p, 'kick'), withReason()),
    done: (name) => `${name} kicked`,
  },
  extend: {
    call: (s, _p, ms) => post(path(s, null, 'extend'), { ttl_ms: ms }),
    done: (_name, ms) => `extended by ${EXTEND.find(([, v]) => v === ms)?.[0].slice(1) ?? `${ms} ms`}`,
  },
  'grant-write': {
    call: (s, p) => post(path(s, p, 'grant-write'), { ttl_ms: GRANT_MS }),
    done: (name) => `${name} may type for 15 min`,
  },
  'revoke-write': {
    call: (s, p) => post(path(s, p, 'revoke-write'), {}),
    done: (name) => `${name} is read-only again`,
  },
};

const button = (act, label, extra = {}) => el('button', { type: 'button', 'data-share-act': act, ...extra }, label);

/** The share's own buttons, the confirmation waiting (if any) and the last outcome. */
export function controls(s) {
  const live = s.value !== 'ended';
  const box = el('div', { class: 'share-actions' });
  if (live)
    box.append(
      el(
        'div',
        { class: 'buttons' },
        ...EXTEND.map(([label, ms]) =>
          button('extend', label, { 'data-ms': String(ms), title: `extend by ${label.slice(1)}` }),
        ),
        button('revoke', 'revoke', { class: 'danger' }),
      ),
    );
  if (confirming?.share === s.entityId) {
    const name = confirming.participant ? (s.context.participants?.[confirming.participant]?.name ?? '?') : null;
    const input = el('input', { 'data-confirm-reason': '', placeholder: 'reason (optional, shown to participants)' });
    input.value = reason;
    box.append(
      el(
        'div',
        { class: 'confirm', role: 'alertdialog', 'aria-label': 'confirm', 'data-confirm': confirming.act },
        el('p', {}, ACTS[confirming.act].confirm(name)),
        input,
        el('button', { type: 'button', 'data-confirm-act': 'yes', class: 'danger' }, `yes, ${confirming.act}`),
        el('button', { type: 'button', 'data-confirm-act': 'no' }, 'cancel'),
      ),
    );
  }
  const outcome = outcomes.get(s.entityId);
  if (outcome)
    box.append(
      el(
        'div',
        {
          class: `outcome ${outcome.kind}`,
          role: outcome.kind === 'error' ? 'alert' : 'status',
          'data-outcome': outcome.kind,
        },
        outcome.text,
      ),
    );
  return box;
}

/** A participant's buttons: grant or revoke write (write shares only), kick. */
export function participantControls(s, p, { writing }) {
  const cell = el('td', { class: 'participant-actions' });
  if (s.value === 'ended' || p.kicked) return cell;
  if (s.context.access === 'write')
    cell.append(writing ? button('revoke-write', 'revoke write') : button('grant-write', 'grant write'));
  cell.append(button('kick', 'kick', { class: 'danger' }));
  return cell;
}

async function run(share, act, participant, ms) {
  const s = document.getElementById('share-detail');
  const name = participant
    ? (s?.querySelector(`tr[data-participant-id="${CSS.escape(participant)}"] td`)?.textContent ?? participant)
    : null;
  const { error, rejection } = await ACTS[act].call(share, participant, ms);
  reason = '';
  outcomes.set(
    share,
    error
      ? { kind: 'error', text: `${act} failed: ${rejectionText(rejection)}` }
      : { kind: 'ok', text: ACTS[act].done(name, ms) },
  );
  redraw();
}

document.addEventListener('click', (e) => {
  const panel = e.target.closest?.('#share-detail');
  if (!panel) return;
  const share = panel.dataset.shareId;
  const b = e.target.closest('[data-share-act]');
  if (b) {
    const act = b.dataset.shareAct;
    const participant = b.closest('[data-participant-id]')?.dataset.participantId ?? null;
    if (ACTS[act].confirm) {
      confirming = { share, act, participant };
      reason = '';
      outcomes.delete(share);
      redraw();
      panel.querySelector('[data-confirm-reason]')?.focus();
      return;
    }
    void run(share, act, participant, Number(b.dataset.ms) || undefined);
    return;
  }
  const answer = e.target.closest('[data-confirm-act]');
  if (answer && confirming) {
    const asked = confirming;
    confirming = null;
    if (answer.dataset.confirmAct === 'yes') void run(asked.share, asked.act, asked.participant);
    else redraw();
  }
});
document.addEventListener('input', (e) => {
  if (e.target.matches?.('#share-detail [data-confirm-reason]')) reason = e.target.value;
});
