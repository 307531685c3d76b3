// tether dashboard: state in an @xstate/store, fed by server-sent events of the read model.
import { createStore } from '/assets/xstate-store/xstate-store.js';
import * as recoveryBanner from '/dashboard/recovery-banner.js';
import * as taskRuns from '/dashboard/task-runs.js';
import * as sharePanel from '/dashboard/share-panel.js';
import * as terminalViewers from '/dashboard/terminal-viewers.js';
import * as emptyStates from '/dashboard/empty-states.js';

/** Who is signed in (GET /v1/me): actor, role and the session's CSRF token; set once at start. */
let me;

const ACTOR_KINDS = ['lane', 'session', 'terminal', 'harness', 'share', 'approval', 'handoff'];

const store = createStore({
  context: {
    connection: 'connecting',
    lane: {},
    session: {},
    terminal: {},
    harness: {},
    share: {},
    approval: {},
    handoff: {},
    selectedShare: null,
    decisionErrors: {},
  },
  on: {
    connection: (ctx, ev) => ({ ...ctx, connection: ev.state }),
    decisionFailed: (ctx, ev) => ({ ...ctx, decisionErrors: { ...ctx.decisionErrors, [ev.id]: ev.message } }),
    selectShare: (ctx, ev) => ({ ...ctx, selectedShare: ev.id }),
    // The stream could not resume after the last event seen: what is held goes, a snapshot follows.
    reset: (ctx) => ({ ...ctx, ...Object.fromEntries(ACTOR_KINDS.map((k) => [k, {}])) }),
    actor: (ctx, ev) => {
      const kind = ev.actor.entity;
      const byId = { ...ctx[kind] };
      if (ev.actor.deleted) delete byId[ev.actor.entityId];
      else byId[ev.actor.entityId] = ev.actor;
      return { ...ctx, [kind]: byId };
    },
  },
});

const el = (tag, attrs = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  for (const c of children) n.append(c);
  return n;
};
const status = (s) => el('span', { class: 'status', 'data-status': s }, s);
const listOf = (items, empty) =>
  el('ul', {}, ...(items.length ? items : [empty ?? el('li', { class: 'muted' }, 'none')]));

// Shares: a badge per live share on its terminal, a detail panel for the one clicked. Clocks tick
// in place every second (tick), so the DOM is not rebuilt under the pointer.
const msLeft = (iso) => Math.max(0, Date.parse(iso) - Date.now());
const pad = (n) => String(n).padStart(2, '0');
const mmss = (ms) => `${pad(Math.floor(ms / 60_000))}:${pad(Math.floor(ms / 1_000) % 60)}`;
const timeLeft = (s) =>
  s.value === 'ended' ? 'ended' : s.context.expiresAt ? mmss(msLeft(s.context.expiresAt)) : 'not started';
const inGrace = (s) =>
  s.value === 'expiring' ||
  (s.value !== 'ended' && !!s.context.expiresAt && msLeft(s.context.expiresAt) <= (s.context.warnBeforeMs ?? 0));
const clock = (s) => el('span', { class: 'clock', 'data-clock': s.entityId }, timeLeft(s));
const participantsOf = (s) => Object.entries(s.context.participants ?? {});
const isConnected = (s, p) => s.value !== 'ended' && p.connections > 0;
const writeUntil = (s, p) =>
  s.value !== 'ended' && p.access === 'write' && p.writeUntil && Date.parse(p.writeUntil) > Date.now()
    ? p.writeUntil
    : null;

// Handoffs: a terminal's keyboard changing hands. Live ones mark the terminal and its share badges.
const LIVE_HANDOFF = new Set(['awaitingApproval', 'requested', 'offered', 'transferring']);
const actorName = (a) => `${a.kind}:${a.id}`;
const liveHandoffOf = (handoff, terminalId) =>
  Object.values(handoff).find((h) => h.context.terminalId === terminalId && LIVE_HANDOFF.has(h.value));

function shareBadge(s, h) {
  const ps = participantsOf(s);
  const connected = ps.filter(([, p]) => isConnected(s, p)).length;
  const attrs = {
    class: 'share-badge',
    role: 'button',
    tabindex: '0',
    'data-share-id': s.entityId,
    'data-status': s.value,
    'data-warning': String(inGrace(s)),
    title: `share ${s.entityId} (${s.value}): time left, participants connected/total${h ? `; handoff ${h.entityId} (${h.value}) to ${actorName(h.context.to)}` : ''}`,
  };
  if (h) attrs['data-handoff'] = h.value;
  return el(
    'span',
    attrs,
    `${s.context.backend} · `,
    clock(s),
    ` · ${connected}/${ps.length}`,
    ...(h ? [` · handoff → ${actorName(h.context.to)}`] : []),
  );
}

const handoffBadge = (h) =>
  el(
    'span',
    {
      class: 'handoff-badge',
      'data-handoff-id': h.entityId,
      'data-status': h.value,
      title: `handoff ${h.entityId}: ${actorName(h.context.from)} → ${actorName(h.context.to)} (${h.value})`,
    },
    `handoff → ${actorName(h.context.to)} (${h.value})`,
  );

function renderShareDetail({ share, selectedShare }) {
  const s = selectedShare && share[selectedShare];
  let panel = document.getElementById('share-detail');
  if (!s) return panel?.remove();
  if (!panel) panel = document.body.appendChild(el('section', { id: 'share-detail', 'aria-label': 'share detail' }));
  const c = s.context;
  // Drawn again only when the share, a confirmation or an outcome changes: typing a reason keeps its focus.
  const shown = JSON.stringify([s, sharePanel.shownState(s.entityId)]);
  if (panel.dataset.shown === shown) return;
  panel.dataset.shown = shown;
  panel.dataset.shareId = s.entityId;
  panel.dataset.status = s.value;
  const row = (label, ...value) => [el('dt', {}, label), el('dd', { 'data-field': label }, ...value)];
  panel.replaceChildren(
    el(
      'h2',
      {},
      `share ${s.entityId.slice(0, 8)} `,
      status(s.value),
      el('button', { class: 'close', type: 'button', 'aria-label': 'close' }, '×'),
    ),
    el(
      'dl',
      {},
      ...row('terminal', c.terminalId),
      ...row('owner', `${c.owner.kind}:${c.owner.id}`),
      ...row('backend', c.backend),
      ...row('access', c.access),
      ...row(
        'expires at',
        c.expiresAt ? `${new Date(c.expiresAt).toLocaleString()} (` : 'not started',
        ...(c.expiresAt ? [clock(s), ')'] : []),
      ),
      ...row('policy rule', `${c.policy.ruleId ?? c.policy.effect}${c.policy.reason ? ` — ${c.policy.reason}` : ''}`),
      ...(s.value === 'ended'
        ? row(
            'ended',
            `${c.endReason ?? 'ended'}${c.endDetail ? `: ${c.endDetail}` : ''} (${c.endedBy ?? '?'}, ${c.endedAt ? new Date(c.endedAt).toLocaleString() : '?'})`,
          )
        : []),
    ),
    sharePanel.controls(s),
    el('h3', {}, 'participants'),
    el(
      'table',
      {},
      el('tr', {}, ...['name', 'access', 'connected', 'kicked', ''].map((h) => el('th', {}, h))),
      ...participantsOf(s).map(([id, p]) =>
        el(
          'tr',
          { 'data-participant-id': id, 'data-connected': String(isConnected(s, p)) },
          el('td', {}, p.name),
          el('td', {}, writeUntil(s, p) ? `write until ${new Date(writeUntil(s, p)).toLocaleTimeString()}` : 'read'),
          el('td', {}, isConnected(s, p) ? `yes (${p.connections})` : 'no'),
          el('td', {}, p.kicked ? 'yes' : 'no'),
          sharePanel.participantControls(s, p, { writing: !!writeUntil(s, p) }),
        ),
      ),
    ),
  );
}

function tick() {
  const { share } = store.getSnapshot().context;
  for (const n of document.querySelectorAll('[data-clock]')) {
    const s = share[n.dataset.clock];
    if (!s) continue;
    n.textContent = timeLeft(s);
    const badge = n.closest('.share-badge');
    if (badge) badge.dataset.warning = String(inGrace(s));
  }
}

function render({ connection, lane, session, terminal, harness, share, handoff }) {
  const conn = document.getElementById('connection');
  conn.dataset.state = connection;
  conn.textContent = connection === 'open' ? 'live' : connection;
  renderHarness(harness.cliproxy);

  const lanes = Object.values(lane).sort((a, b) => a.streamSeq - b.streamSeq);
  const main = document.getElementById('lanes');
  if (lanes.length === 0)
    return main.replaceChildren(
      emptyStates.emptyState(
        'No lanes yet. A lane is a git worktree with its session and terminals; create one:',
        'npx tether lane create --name "Fix login"',
      ),
    );
  const card = (l) => {
    const sessions = Object.values(session).filter((s) => s.context.laneId === l.entityId);
    const terms = Object.values(terminal).filter((t) => t.context.laneId === l.entityId);
    return el(
      'article',
      { class: 'lane', 'data-lane-id': l.entityId, 'data-status': l.value },
      el('h2', {}, l.context.displayName, ' ', status(l.value)),
      el('div', { class: 'muted' }, `${l.entityId} · ${l.context.worktreePath ?? 'no worktree yet'}`),
      ...(l.context.error
        ? [el('div', { class: 'muted' }, `${l.context.error.reason}: ${l.context.error.message}`)]
        : []),
      el('div', {}, el('strong', {}, 'sessions')),
      listOf(
        sessions.map((s) =>
          el(
            'li',
            { 'data-session-id': s.entityId },
            `${s.entityId.slice(0, 8)} `,
            status(s.value),
            ` ${s.context.transport}${s.context.degradeReason ? ` (${s.context.degradeReason})` : ''}`,
          ),
        ),
        l.value === 'closed'
          ? undefined
          : emptyStates.emptyItem('none yet:', `npx tether session ensure --lane ${l.entityId}`),
      ),
      el('div', {}, el('strong', {}, 'terminals')),
      listOf(
        terms.map((t) => {
          const shares = Object.values(share)
            .filter((s) => s.context.terminalId === t.entityId && s.value !== 'ended')
            .sort((a, b) => a.context.requestedAt.localeCompare(b.context.requestedAt));
          const h = liveHandoffOf(handoff, t.entityId);
          return el(
            'li',
            { 'data-terminal-id': t.entityId },
            `${t.context.title ?? t.entityId.slice(0, 8)} `,
            status(t.value),
            ...shares.map((s) => shareBadge(s, h)),
            ...(h ? [handoffBadge(h)] : []),
            ...(t.value === 'active' && me ? [terminalViewers.watchButton(t)] : []),
          );
        }),
        l.value === 'closed' || sessions.length === 0
          ? undefined
          : emptyStates.emptyItem(
              'none yet:',
              `npx tether terminal spawn --lane ${l.entityId} --session ${sessions[0].entityId}`,
            ),
      ),
    );
  };
  main.replaceChildren(...emptyStates.lanesWithClosedFolded(lanes, card));
}

/** The harness box: its status and route; no harness configured is a choice, not a fault (neutral, with how to set one). */
function renderHarness(h) {
  const box = document.getElementById('harness');
  const unset = h?.context.url === null;
  box.dataset.status = unset ? 'not-configured' : (h?.value ?? 'unknown');
  if (unset)
    return box.replaceChildren(
      el('strong', {}, 'harness '),
      el('span', { class: 'status', 'data-status': 'not-configured' }, 'not configured'),
      el('span', { class: 'muted' }, '  route: native_openai'),
      el(
        'div',
        { class: 'muted', 'data-testid': 'harness-hint' },
        'Sessions use native OpenAI. To route them through a cliproxy harness, start tether with ',
        el('code', { class: 'cmd' }, 'TETHER_HARNESS_URL=<harness url> npx tether up'),
      ),
    );
  box.replaceChildren(
    el('strong', {}, 'harness '),
    h ? status(h.value) : el('span', {}, 'unknown'),
    el('span', { class: 'muted' }, h ? `  route: ${h.value === 'healthy' ? 'cliproxy_harness' : 'native_openai'}` : ''),
    ...(h && h.value !== 'healthy' && h.context.degradeReason
      ? [el('div', { class: 'muted', 'data-testid': 'degrade-reason' }, h.context.degradeReason)]
      : []),
  );
}

// Approvals: the signed-in operator approves or denies pending share requests; the gateway refuses
// the requester and anyone but an operator, and the refusal is shown in the row.

/** What an approval holds: a share's request, or a handoff's (gone from the list once that handoff ended). */
function heldBy(a, { share, handoff }) {
  if (a.context.handoffId) {
    const h = handoff[a.context.handoffId];
    if (h && !LIVE_HANDOFF.has(h.value)) return null;
    return h
      ? `asks to hand terminal ${h.context.terminalId.slice(0, 8)} to ${actorName(h.context.to)}${h.context.note ? ` (“${h.context.note}”)` : ''}`
      : `asks for handoff ${a.context.handoffId.slice(0, 8)}`;
  }
  const s = share[a.context.shareId];
  return s
    ? `asks to share terminal ${s.context.terminalId.slice(0, 8)} (${s.context.backend}, ${s.context.access})`
    : `asks for share ${a.context.shareId.slice(0, 8)}`;
}

function renderApprovals({ approval, share, handoff, decisionErrors }) {
  const box = document.getElementById('approvals');
  const pending = Object.values(approval)
    .filter((a) => a.value === 'pending')
    .map((a) => [a, heldBy(a, { share, handoff })])
    .filter(([, what]) => what !== null)
    .sort(([a], [b]) => a.streamSeq - b.streamSeq);
  // Rebuild only when what is shown changes: other events must not steal the focus of a typing operator.
  const shown = JSON.stringify([pending.map(([a, what]) => [a.entityId, what]), decisionErrors]);
  if (box.dataset.shown === shown) return;
  box.dataset.shown = shown;
  box.hidden = pending.length === 0;
  if (box.hidden) return box.replaceChildren();
  const typed = Object.fromEntries([...box.querySelectorAll('input[data-note]')].map((i) => [i.dataset.note, i.value]));
  box.replaceChildren(
    el('h2', {}, `pending approvals (${pending.length})`),
    ...pending.map(([a, what]) => {
      const c = a.context;
      const row = el(
        'div',
        { class: 'approval', 'data-approval-id': a.entityId },
        el('strong', {}, `${c.requestedBy.kind}:${c.requestedBy.id}`),
        ` ${what}`,
        el(
          'div',
          { class: 'muted' },
          `rule ${c.ruleId}${c.reason ? ` — ${c.reason}` : ''} · open until ${new Date(c.expiresAt).toLocaleTimeString()}`,
        ),
        Object.assign(el('input', { 'data-note': a.entityId, placeholder: 'note (approve) or reason (deny)' }), {
          value: typed[a.entityId] ?? '',
        }),
        el('button', { type: 'button', 'data-decide': 'approve' }, 'approve'),
        el('button', { type: 'button', 'data-decide': 'deny' }, 'deny'),
      );
      if (decisionErrors[a.entityId])
        row.append(el('div', { class: 'error', role: 'alert' }, decisionErrors[a.entityId]));
      return row;
    }),
  );
}

async function decide(id, verb) {
  const note = document.querySelector(`input[data-note="${CSS.escape(id)}"]`).value.trim();
  if (verb === 'deny' && !note)
    return store.trigger.decisionFailed({ id, message: 'A denial needs a reason: type it in the box.' });
  const res = await fetch(`/v1/approvals/${encodeURIComponent(id)}/${verb}`, {
    method: 'POST',
    // The session cookie says who decides; the CSRF token proves this page sent it.
    headers: { 'content-type': 'application/json', 'x-tether-csrf': me?.csrf_token ?? '' },
    body: JSON.stringify(verb === 'deny' ? { reason: note } : note ? { note } : {}),
  }).catch((err) => ({ ok: false, json: async () => ({ error: { message: String(err) } }) }));
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    store.trigger.decisionFailed({
      id,
      message: `${body.error?.reason ?? body.error?.code ?? 'failed'}: ${body.error?.message ?? res.status}`,
    });
  } // on success the approval's next state arrives through the stream and the row goes
}

// Handoff notifications: keyboards offered to people. The signed-in receiver accepts or declines; the
// gateway refuses anyone but the receiver, and the refusal is shown.
function renderHandoffs({ handoff, decisionErrors }) {
  const box = document.getElementById('handoffs');
  const live = Object.values(handoff)
    .filter((h) => h.context.to.kind === 'human' && LIVE_HANDOFF.has(h.value))
    .sort((a, b) => a.streamSeq - b.streamSeq);
  const shown = JSON.stringify([live.map((h) => [h.entityId, h.value]), me?.actor, decisionErrors]);
  if (box.dataset.shown === shown) return;
  box.dataset.shown = shown;
  box.hidden = live.length === 0;
  if (box.hidden) return box.replaceChildren();
  box.replaceChildren(
    el('h2', {}, `handoffs to people (${live.length})`),
    ...live.map((h) => {
      const c = h.context;
      const mine = !!me && `${c.to.kind}:${c.to.id}` === me.actor;
      const ctx = c.context;
      const row = el(
        'div',
        {
          class: 'handoff',
          role: 'status',
          'data-handoff-id': h.entityId,
          'data-status': h.value,
          'data-mine': String(mine),
        },
        el('strong', {}, actorName(c.from)),
        ` hands terminal ${c.terminalId.slice(0, 8)} to ${actorName(c.to)}${c.note ? `: “${c.note}”` : ''} `,
        status(h.value),
        ...(ctx
          ? [
              el(
                'div',
                { class: 'muted' },
                `${ctx.cwd} · ${ctx.git.branch ?? 'detached'} (${ctx.git.unstaged + ctx.git.staged} changed, ${ctx.git.untracked} untracked) · ${ctx.env.names.length} env vars · ${ctx.scrollback.bytes} bytes of scrollback`,
              ),
            ]
          : []),
        ...(h.value === 'offered'
          ? [
              el('button', { type: 'button', 'data-handoff': 'accept' }, 'accept'),
              el('button', { type: 'button', 'data-handoff': 'cancel' }, 'decline'),
            ]
          : []),
      );
      const error = decisionErrors[`handoff:${h.entityId}`];
      if (error) row.append(el('div', { class: 'error' }, error));
      return row;
    }),
  );
}

async function actOnHandoff(id, verb) {
  const key = `handoff:${id}`; // its own row's error: an approval has the same id as its handoff
  const res = await fetch(`/v1/handoffs/${encodeURIComponent(id)}/${verb}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tether-csrf': me?.csrf_token ?? '' },
    body: JSON.stringify(verb === 'cancel' ? { reason: `declined by ${me?.actor}` } : {}),
  }).catch((err) => ({ ok: false, json: async () => ({ error: { message: String(err) } }) }));
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    store.trigger.decisionFailed({
      id: key,
      message: `${body.error?.reason ?? body.error?.code ?? 'failed'}: ${body.error?.message ?? res.status}`,
    });
  }
}

const renderAll = (ctx) => {
  render(ctx);
  emptyStates.renderOverview(ctx);
  renderApprovals(ctx);
  renderHandoffs(ctx);
  renderShareDetail(ctx);
};
store.subscribe((snapshot) => renderAll(snapshot.context));
sharePanel.onChange(() => renderShareDetail(store.getSnapshot().context));
emptyStates.onToggle(() => render(store.getSnapshot().context));
renderAll(store.getSnapshot().context);
setInterval(tick, 1_000);

document.addEventListener('click', (e) => {
  const badge = e.target.closest('.share-badge');
  if (badge) store.trigger.selectShare({ id: badge.dataset.shareId });
  else if (e.target.closest('#share-detail .close')) store.trigger.selectShare({ id: null });
  const button = e.target.closest('#approvals [data-decide]');
  if (button) void decide(button.closest('[data-approval-id]').dataset.approvalId, button.dataset.decide);
  const watch = e.target.closest('[data-watch-terminal]');
  if (watch) {
    const { terminal, share } = store.getSnapshot().context;
    const t = terminal[watch.dataset.watchTerminal];
    void terminalViewers.watch(t.entityId, { title: t.context.title ?? t.entityId.slice(0, 8), shares: share, me });
  }
  const act = e.target.closest('#handoffs [data-handoff]');
  if (act) void actOnHandoff(act.closest('[data-handoff-id]').dataset.handoffId, act.dataset.handoff);
});
document.addEventListener('keydown', (e) => {
  const badge = e.target.closest?.('.share-badge');
  if (badge && (e.key === 'Enter' || e.key === ' ')) {
    e.preventDefault();
    store.trigger.selectShare({ id: badge.dataset.shareId });
  }
});

// Who is signed in (the session cookie a one-time link set); without a session, say how to get one.
const who = document.getElementById('who');
const res = await fetch('/v1/me');
if (res.ok) {
  me = await res.json();
  recoveryBanner.signedIn(me);
  who.textContent = `${me.actor} (${me.role})`;
  void taskRuns.signedIn();
  // The browser reconnects by itself with Last-Event-ID: the stream resumes after the last event seen (no
  // snapshot), or says `reset` and sends one. Live once `ready` says the page is caught up.
  const events = new EventSource('/v1/stream');
  events.addEventListener('ready', () => store.trigger.connection({ state: 'open' }));
  events.addEventListener('reset', () => store.trigger.reset());
  events.addEventListener('error', () =>
    store.trigger.connection({ state: events.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting' }),
  );
  events.addEventListener('unauthenticated', () => {
    events.close();
    store.trigger.connection({ state: 'closed' });
    who.textContent = 'signed out: run `tether login` and open the link it prints';
    who.dataset.state = 'signed-out';
  });
  events.addEventListener('actor', (e) => {
    const actor = JSON.parse(e.data);
    // A recovery run is the banner's: it reads the run's view again (stage text, what to do) and renders.
    if (actor.entity === 'recovery') return void recoveryBanner.refresh();
    // Task runs and their live sessions are the cards': each reads its run's view (links, grants, inbox) again.
    if (actor.entity === 'taskRun' || actor.entity === 'liveSession') return void taskRuns.changed(actor);
    store.trigger.actor({ actor });
  });
} else {
  store.trigger.connection({ state: 'closed' });
  who.textContent = 'not signed in: run `tether login` and open the link it prints';
  who.dataset.state = 'signed-out';
}
