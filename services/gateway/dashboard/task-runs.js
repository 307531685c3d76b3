// tether dashboard: a card per task run. Its state is the API's TaskRunView (GET /v1/task-runs/{id}),
// read again whenever the live stream pushes the run or its live session (app.js calls changed()); the
// terminal is the native share viewer of the run's live session in a frame, read-only with the
// operator's own link (POST …/live-session), read-write with the takeover's link while they hold it.
import { post } from '/dashboard/recovery-banner.js';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
const LIVE = new Set(['starting', 'ready']);

/** Task runs by id (TaskRunView), their inbox (OperatorMessage[]), the link each frame shows, errors per card. */
const runs = new Map();
const inboxes = new Map();
const links = new Map();
const errors = new Map();

const el = (tag, attrs = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  for (const c of children) n.append(c);
  return n;
};
const pad = (n) => String(n).padStart(2, '0');
const mmss = (ms) => `${pad(Math.floor(ms / 60_000))}:${pad(Math.floor(ms / 1_000) % 60)}`;
const countdown = (iso) => el('span', { class: 'clock', 'data-countdown': iso }, mmss(Date.parse(iso) - Date.now()));
const time = (iso) => new Date(iso).toLocaleTimeString();
const path = (id, rest = '') => `/v1/task-runs/${encodeURIComponent(id)}${rest}`;

/** Reads one run and its inbox again, and renders its card. */
async function load(id) {
  const [run, inbox] = await Promise.all([
    fetch(path(id)).then((r) => (r.ok ? r.json() : undefined)),
    fetch(path(id, '/operator-messages')).then((r) => (r.ok ? r.json() : undefined)),
  ]).catch(() => []);
  if (!run) return;
  runs.set(id, run);
  if (inbox) inboxes.set(id, inbox.items);
  render(run);
  void watch(run);
}

// Reads of one run fold: a burst of events (a takeover writes several) becomes one read after the one running.
const reading = new Map();
function reload(id) {
  const r = reading.get(id);
  if (r) {
    r.again = true;
    return;
  }
  const entry = { again: false };
  reading.set(id, entry);
  void (async () => {
    do {
      entry.again = false;
      await load(id);
    } while (entry.again);
  })().finally(() => reading.delete(id));
}

/** The live stream pushed a task run or a live session (app.js): that run's card is read again. */
export function changed(actor) {
  const id = actor.entity === 'taskRun' ? actor.entityId : actor.context?.taskRunId;
  if (id) reload(id);
}

/** Signed in: every run there is now; the stream brings the rest. */
export async function signedIn() {
  const res = await fetch('/v1/task-runs').catch(() => undefined);
  if (!res?.ok) return;
  for (const run of (await res.json()).items) reload(run.task_run_id);
}

/** Once a run's live session is READY, the operator's own read-only link fills its frame (asked for once). */
async function watch(run) {
  const ls = run.live_session;
  if (ls?.status !== 'ready' || ls.provider !== 'native' || !ls.allow_web || links.has(run.task_run_id)) return;
  links.set(run.task_run_id, { url: null, access: 'read' }); // asked: not again while the answer is on its way
  const { reply, error } = await post(path(run.task_run_id, '/live-session'), {});
  if (error) return fail(run.task_run_id, error);
  if (reply.link) show(run.task_run_id, reply.link.url, 'read');
}

/** Points the run's frame at `url` (reconnects only when the link changes). */
function show(id, url, access) {
  links.set(id, { url, access });
  const frame = document.querySelector(`[data-task-run-id="${CSS.escape(id)}"] iframe.terminal`);
  if (frame && frame.getAttribute('src') !== url) frame.setAttribute('src', url);
  if (frame) frame.dataset.access = access;
}

function fail(id, message) {
  errors.set(id, message);
  const run = runs.get(id);
  if (run) render(run);
}

/** The card's skeleton once (the frame and what is typed survive re-renders); its parts are rebuilt from the view. */
function cardOf(run) {
  const box = document.getElementById('task-runs');
  box.hidden = false;
  let card = box.querySelector(`[data-task-run-id="${CSS.escape(run.task_run_id)}"]`);
  if (card) return card;
  card = el(
    'article',
    { class: 'task-run', 'data-task-run-id': run.task_run_id, 'aria-label': `task run ${run.name}` },
    el('header', { class: 'summary' }),
    el('div', { class: 'viewer' }, el('iframe', { class: 'terminal', title: `terminal of ${run.name}` })),
    el('div', { class: 'controls' }),
    el('div', { class: 'live' }),
    el(
      'form',
      { class: 'message' },
      el('input', { name: 'message', placeholder: 'message to the agent', maxlength: '4000', autocomplete: 'off' }),
      el('button', { type: 'submit' }, 'send'),
    ),
    el('ol', { class: 'inbox', 'aria-label': 'operator messages' }),
    el('div', { class: 'error', role: 'alert', hidden: '' }),
  );
  box.append(card);
  return card;
}

const button = (act, label, enabled = true) => {
  const b = el('button', { type: 'button', 'data-act': act }, label);
  b.disabled = !enabled;
  return b;
};

function render(run) {
  const card = cardOf(run);
  const id = run.task_run_id;
  card.dataset.status = run.status;
  card.dataset.live = run.live_session?.status ?? 'none';
  const link = links.get(id);
  if (link?.url) show(id, link.url, link.access);

  const p = run.pause;
  card
    .querySelector('.summary')
    .replaceChildren(
      el('h2', {}, run.name, ' ', el('span', { class: 'status', 'data-status': run.status }, run.status)),
      el('div', { class: 'muted' }, `lane ${run.lane_id} · ${run.command.join(' ')} · started by ${run.started_by}`),
      ...(p
        ? [
            el(
              'div',
              { 'data-field': 'pause' },
              `paused (${p.mode}) by ${p.by}${p.reason ? `: ${p.reason}` : ''} · ${p.honoured_at ? `honoured ${time(p.honoured_at)}` : 'waiting for the agent'}`,
            ),
          ]
        : []),
      ...(run.takeover
        ? [el('div', { 'data-field': 'takeover' }, `taken over by ${run.takeover.by} since ${time(run.takeover.at)}`)]
        : []),
      ...(run.ended
        ? [
            el(
              'div',
              { 'data-field': 'ended' },
              `${run.ended.status}${run.exit ? ` (${run.exit.signal ? `signal ${run.exit.signal}` : `exit code ${run.exit.code}`})` : ''}${run.ended.reason ? `: ${run.ended.reason}` : ''}`,
            ),
          ]
        : []),
      el(
        'a',
        { class: 'recording', href: `/recordings/${encodeURIComponent(run.terminal_id)}`, target: '_blank' },
        'play recording',
      ),
    );

  const over = ENDED.has(run.status) || run.status === 'cancelling';
  const typed = card.querySelector('input[name="summary"]')?.value ?? '';
  card
    .querySelector('.controls')
    .replaceChildren(
      button('pause', 'pause', run.status === 'running'),
      button('hard-pause', 'hard pause', run.status === 'running'),
      button('resume', 'resume', run.status === 'paused' && !run.takeover),
      button('takeover', 'take over', (run.status === 'running' || run.status === 'paused') && !run.takeover),
      ...(run.takeover
        ? [
            Object.assign(
              el('input', { name: 'summary', placeholder: 'what you did, for the agent', maxlength: '4000' }),
              { value: typed },
            ),
            button('release', 'release'),
          ]
        : []),
      button('cancel', 'cancel', !over),
    );

  const ls = run.live_session;
  card.querySelector('.live').replaceChildren(
    ...(ls
      ? [
          el(
            'div',
            { 'data-field': 'live-session' },
            `live session ${ls.status} (${ls.provider})`,
            ...(ls.ms_left !== null ? [' · ', countdown(ls.expires_at), ' left'] : []),
            ...(ls.ended ? [`: ${ls.ended.reason}`] : []),
            ...(ls.last_heartbeat_at
              ? [el('span', { class: 'muted' }, ` · heartbeat ${time(ls.last_heartbeat_at)}`)]
              : []),
          ),
          // tmate (or web links off): where to watch from a terminal; read-only endpoints only, never read-write.
          ...(ls.provider !== 'native' || !ls.allow_web
            ? [
                el(
                  'ul',
                  { class: 'attach', 'data-field': 'attach' },
                  ...Object.entries(ls.attach.read_only).map(([k, v]) => el('li', {}, `${k}: `, el('code', {}, v))),
                  el('li', { class: 'muted' }, ls.attach.how),
                ),
              ]
            : []),
          el(
            'ul',
            { class: 'grants' },
            ...ls.grants.map((g) =>
              el(
                'li',
                { 'data-grant-to': g.to },
                `${g.to} may type: `,
                countdown(g.expires_at),
                ' left ',
                button('revoke-write', 'revoke write'),
              ),
            ),
          ),
          ...(LIVE.has(ls.status) ? [button('revoke-session', 'revoke session')] : []),
        ]
      : [
          el('div', { 'data-field': 'live-session' }, 'no live session '),
          button('enable', 'start live session', !over),
        ]),
  );
  card.querySelector('iframe.terminal').hidden = !ls || !LIVE.has(ls.status) || !ls.allow_web;

  const inbox = inboxes.get(id) ?? [];
  card
    .querySelector('.inbox')
    .replaceChildren(
      ...inbox.map((m) =>
        el(
          'li',
          { 'data-seq': String(m.seq) },
          el('span', { class: 'muted' }, `${time(m.ts)} ${m.actor}: `),
          m.message,
        ),
      ),
    );
  const error = card.querySelector('.error');
  error.hidden = !errors.get(id);
  error.textContent = errors.get(id) ?? '';
}

/** A button's action: the control or live-session call it stands for, then the card as the reply has it. */
async function act(id, what, target) {
  const control = (body) => post(path(id, '/control'), body);
  const calls = {
    pause: () => control({ action: 'pause', mode: 'soft' }),
    'hard-pause': () => control({ action: 'pause', mode: 'hard' }),
    resume: () => control({ action: 'resume' }),
    takeover: () => control({ action: 'takeover' }),
    cancel: () => control({ action: 'cancel' }),
    release: () => {
      const summary = target.closest('.controls').querySelector('input[name="summary"]').value.trim();
      if (!summary) return { error: 'A release needs a summary for the agent: type it in the box.' };
      return control({ action: 'release', summary });
    },
    enable: () => post(path(id, '/live-session'), {}),
    'revoke-write': () =>
      post(path(id, '/live-session/revoke'), { scope: 'write', to: target.closest('[data-grant-to]').dataset.grantTo }),
    'revoke-session': () => post(path(id, '/live-session/revoke'), { scope: 'session' }),
  };
  const { reply, error } = await calls[what]();
  errors.set(id, error ?? null);
  if (reply?.link) show(id, reply.link.url, what === 'takeover' ? 'write' : 'read');
  if (what === 'release' && links.get(id)?.access === 'write') links.delete(id); // back to a read-only link
  if (reply?.task_run) runs.set(id, reply.task_run);
  reload(id);
}

async function send(id, form) {
  const input = form.querySelector('input[name="message"]');
  const message = input.value.trim();
  if (!message) return fail(id, 'Type a message first.');
  const { error } = await post(path(id, '/operator-messages'), { message });
  errors.set(id, error ?? null);
  if (!error) input.value = '';
  reload(id);
}

document.addEventListener('click', (e) => {
  const b = e.target.closest?.('.task-run [data-act]');
  if (b) void act(b.closest('[data-task-run-id]').dataset.taskRunId, b.dataset.act, b);
});
document.addEventListener('submit', (e) => {
  const form = e.target.closest?.('.task-run form.message');
  if (!form) return;
  e.preventDefault();
  void send(form.closest('[data-task-run-id]').dataset.taskRunId, form);
});
// Countdowns tick in place: nothing is rebuilt under the pointer.
setInterval(() => {
  for (const n of document.querySelectorAll('[data-countdown]'))
    n.textContent = mmss(Math.max(0, Date.parse(n.dataset.countdown) - Date.now()));
}, 1_000);
