// tether dashboard: the crash-recovery banner. It stands on its own (no store, no framework) so it shows
// before the rest of the page: one GET /v1/recovery as soon as this module runs, then app.js calls
// refresh() on every `recovery` actor the live stream pushes.

const FINISHED = new Set(['live', 'liveWithIssues', 'failed']);
const NOTE = 'Commands that create or change terminals wait until recovery is live.';

/** The CSRF token of the signed-in session (app.js passes it on from GET /v1/me; fetched here if needed first). */
let csrf;
/** The latest RecoveryStatusView, and an error to show per banner. */
let status;
const errors = { run: null, safe: null };

const el = (tag, attrs = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  for (const c of children) n.append(c);
  return n;
};
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Who is signed in (GET /v1/me, read by app.js): its CSRF token lets the banner's buttons post. */
export function signedIn(me) {
  csrf = me?.csrf_token;
}

let inFlight;
let again = false;
/** Reads GET /v1/recovery and renders; calls while one read runs fold into one more read after it. */
export function refresh() {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = (async () => {
    do {
      again = false;
      const res = await fetch('/v1/recovery').catch(() => undefined);
      // Signed out or unreachable: the banner keeps what it showed (app.js says how to sign in).
      if (res?.ok) show(await res.json());
    } while (again);
  })().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

function show(next) {
  status = next;
  renderSafeMode(status.safe_mode);
  renderRun(status.latest);
}

/** Rebuilds `box` only when what it shows changes: a re-render must not wipe what an operator is typing. */
function changed(box, shown) {
  const key = JSON.stringify(shown);
  if (box.dataset.shown === key) return false;
  box.dataset.shown = key;
  return true;
}

function renderSafeMode(safe) {
  const box = document.getElementById('safe-mode');
  const active = !!safe?.active;
  if (!changed(box, [active && safe, errors.safe])) return;
  box.hidden = !active;
  if (!active) return box.replaceChildren();
  const typed = box.querySelector('input')?.value ?? '';
  const input = Object.assign(
    el('input', {
      id: 'safe-mode-reason',
      name: 'reason',
      autocomplete: 'off',
      placeholder: 'why it is safe to leave now',
      maxlength: '1000',
    }),
    { value: typed },
  );
  box.replaceChildren(
    el('h2', {}, 'tether runs in safe mode'),
    el(
      'p',
      { 'data-field': 'why' },
      `Why: ${safe.reason} (${plural(safe.crashes, 'crash', 'crashes')} counted; recovery ${safe.recovery_id}).`,
    ),
    el('p', { 'data-field': 'disabled' }, `Off until safe mode is left: ${safe.disabled.join(', ')}.`),
    el('p', { 'data-field': 'leave' }, 'Leave it once the cause is fixed: ', el('code', {}, safe.leave), ' or here:'),
    el(
      'form',
      { class: 'leave-safe-mode' },
      el('label', { for: 'safe-mode-reason' }, 'Reason'),
      input,
      el('button', { type: 'submit' }, 'Leave safe mode'),
    ),
    ...(errors.safe ? [el('div', { class: 'error' }, errors.safe)] : []),
  );
}

function renderRun(run) {
  const box = document.getElementById('recovery');
  const finished = !!run && FINISHED.has(run.status);
  // A dismissed run's summary is not shown again; a run still going on always is.
  const visible = !!run && !(finished && run.dismissed_at);
  if (!changed(box, [visible && run, errors.run])) return;
  box.hidden = !visible;
  if (!visible) {
    delete box.dataset.status;
    return box.replaceChildren();
  }
  box.dataset.status = run.status;
  box.dataset.recoveryId = run.recovery_id;
  box.replaceChildren(...(finished ? summary(run) : progress(run)));
  if (errors.run) box.append(el('div', { class: 'error' }, errors.run));
}

/** A run going on: the stage's line, how many terminals are done, and what waits meanwhile. */
function progress(run) {
  const { done, total } = run.progress;
  const plan = run.terminals;
  const reattach = plan.filter((t) => t.plan === 'reattach').length;
  const checkpoints = plan.filter((t) => t.checkpoint_at).length;
  const detail =
    run.status === 'inventorying' && run.tmux
      ? run.tmux.alive
        ? `tmux survived with ${plural(run.tmux.sessions, 'session')}.`
        : 'tmux did not survive: terminals come back from their checkpoints.'
      : total > 0
        ? `Found ${plural(checkpoints, 'checkpoint')}: ${reattach} to reattach, ${total - reattach} to respawn.`
        : '';
  return [
    el('h2', {}, 'Recovering from a crash ', el('span', { class: 'status', 'data-status': run.status }, run.status)),
    el('p', { class: 'stage-text', 'data-field': 'stage' }, run.stage_text),
    ...(total > 0
      ? [
          el('progress', { max: String(total), value: String(done), 'aria-label': 'terminals restored' }),
          el('span', { class: 'recovery-count', 'data-field': 'count' }, `${done} of ${total} complete`),
        ]
      : []),
    ...(detail ? [el('div', { class: 'muted' }, detail)] : []),
    el('p', { class: 'note', 'data-field': 'note' }, NOTE),
  ];
}

/** A finished run: what came back, what did not and what to do about it, and the orphans. */
function summary(run) {
  const heading =
    run.status === 'live'
      ? 'Recovery complete'
      : run.status === 'liveWithIssues'
        ? 'Recovery complete with issues'
        : 'Recovery failed';
  const r = run.result;
  const o = run.orphans;
  const failed = run.terminals.filter((t) => t.outcome === 'failed');
  const row = (field, label, ...value) => [el('dt', {}, label), el('dd', { 'data-field': field }, ...value)];
  return [
    el('h2', {}, heading),
    ...(run.status === 'failed' ? [el('p', { 'data-field': 'fail-reason' }, `Reason: ${run.fail_reason}`)] : []),
    el(
      'dl',
      {},
      ...row('restored', 'restored (reattached)', String(r.restored)),
      ...row('respawned', 'respawned', String(r.respawned)),
      ...row('failed', 'failed', String(r.failed.length)),
      ...(o
        ? [
            ...row(
              'orphans-cleaned',
              'orphans cleaned',
              `${o.cleanup.terminated + o.cleanup.removed} (${o.cleanup.terminated} terminated, ${o.cleanup.removed} removed)`,
            ),
            ...row(
              'orphans-review',
              'orphans needing review',
              String(o.needs_review.length),
              ...(o.needs_review.length ? [' — list them with ', el('code', {}, 'tether recovery review')] : []),
            ),
          ]
        : []),
      ...(r.duration_ms !== null ? row('duration', 'took', `${(r.duration_ms / 1000).toFixed(1)} s`) : []),
    ),
    ...(failed.length
      ? [
          el(
            'ul',
            { class: 'recovery-failed' },
            ...failed.map((t) =>
              el(
                'li',
                { 'data-terminal-id': t.terminal_id },
                el('strong', {}, `terminal ${t.terminal_id}`),
                `: ${t.reason}`,
                el('div', { class: 'muted' }, `What to do: ${t.what_to_do}`),
              ),
            ),
          ),
        ]
      : []),
    el('button', { type: 'button', class: 'dismiss', 'data-dismiss': run.recovery_id }, 'Dismiss'),
  ];
}

/**
 * A write from the dashboard (the session cookie says who, the CSRF header that this page sent it): `{reply}`, or
 * `{error, rejection}` (the text to show, and the reply's `error`: code, reason, message).
 */
export async function post(path, body) {
  if (csrf === undefined) {
    const me = await fetch('/v1/me').then((r) => (r.ok ? r.json() : undefined));
    csrf = me?.csrf_token;
  }
  const res = await fetch(path, {
    method: 'POST',
    // The session cookie says who acts; the CSRF token proves this page sent it.
    headers: { 'content-type': 'application/json', 'x-tether-csrf': csrf ?? '' },
    body: JSON.stringify(body),
  }).catch((err) => ({ ok: false, json: async () => ({ error: { message: String(err) } }) }));
  const reply = await res.json().catch(() => ({}));
  if (res.ok) return { reply };
  return {
    error: `${reply.error?.reason ?? reply.error?.code ?? 'failed'}: ${reply.error?.message ?? res.status}`,
    rejection: reply.error ?? { code: 'FAILED', message: `HTTP ${res.status}` },
  };
}

async function dismiss(id) {
  const { reply, error } = await post(`/v1/recovery/runs/${encodeURIComponent(id)}/dismiss`, {});
  errors.run = error ?? null;
  if (reply && status?.latest?.recovery_id === reply.recovery_id) status = { ...status, latest: reply };
  show(status);
}

async function leaveSafeMode(input) {
  const reason = input.value.trim();
  if (!reason) {
    errors.safe = 'Leaving safe mode needs a reason: type it in the box.';
    return show(status);
  }
  const { reply, error } = await post('/v1/recovery/safe-mode/leave', { reason });
  errors.safe = error ?? null;
  show(reply ?? status);
}

document.addEventListener('click', (e) => {
  const button = e.target.closest?.('#recovery [data-dismiss]');
  if (button) void dismiss(button.dataset.dismiss);
});
document.addEventListener('submit', (e) => {
  const form = e.target.closest?.('#safe-mode form');
  if (!form) return;
  e.preventDefault();
  void leaveSafeMode(form.querySelector('input'));
});

void refresh();
