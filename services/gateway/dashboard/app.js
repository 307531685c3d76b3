// tether dashboard: state in an @xstate/store, fed by server-sent events of the read model.
import { createStore } from '/assets/xstate-store/xstate-store.js';

const store = createStore({
  context: { connection: 'connecting', lane: {}, session: {}, terminal: {}, harness: {} },
  on: {
    connection: (ctx, ev) => ({ ...ctx, connection: ev.state }),
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
const listOf = (items) => el('ul', {}, ...(items.length ? items : [el('li', { class: 'muted' }, 'none')]));

function render({ connection, lane, session, terminal, harness }) {
  const conn = document.getElementById('connection');
  conn.dataset.state = connection;
  conn.textContent = connection === 'open' ? 'live' : connection;

  const h = harness.cliproxy;
  const box = document.getElementById('harness');
  box.dataset.status = h ? h.value : 'unknown';
  box.replaceChildren(
    el('strong', {}, 'harness '),
    h ? status(h.value) : el('span', {}, 'unknown'),
    el('span', { class: 'muted' }, h ? `  route: ${h.value === 'healthy' ? 'cliproxy_harness' : 'native_openai'}` : ''),
    ...(h && h.value !== 'healthy' && h.context.degradeReason ? [el('div', { class: 'muted', 'data-testid': 'degrade-reason' }, h.context.degradeReason)] : []),
  );

  const lanes = Object.values(lane).sort((a, b) => a.streamSeq - b.streamSeq);
  const main = document.getElementById('lanes');
  if (lanes.length === 0) return main.replaceChildren(el('p', { class: 'empty' }, 'No lanes yet. Create one with `tether lane create`.'));
  main.replaceChildren(
    ...lanes.map((l) => {
      const sessions = Object.values(session).filter((s) => s.context.laneId === l.entityId);
      const terms = Object.values(terminal).filter((t) => t.context.laneId === l.entityId);
      return el(
        'article',
        { class: 'lane', 'data-lane-id': l.entityId },
        el('h2', {}, l.context.displayName, ' ', status(l.value)),
        el('div', { class: 'muted' }, `${l.entityId} · ${l.context.worktreePath ?? 'no worktree yet'}`),
        ...(l.context.error ? [el('div', { class: 'muted' }, `${l.context.error.reason}: ${l.context.error.message}`)] : []),
        el('div', {}, el('strong', {}, 'sessions')),
        listOf(sessions.map((s) => el('li', { 'data-session-id': s.entityId }, `${s.entityId.slice(0, 8)} `, status(s.value), ` ${s.context.transport}${s.context.degradeReason ? ` (${s.context.degradeReason})` : ''}`))),
        el('div', {}, el('strong', {}, 'terminals')),
        listOf(terms.map((t) => el('li', { 'data-terminal-id': t.entityId }, `${t.context.title ?? t.entityId.slice(0, 8)} `, status(t.value)))),
      );
    }),
  );
}

store.subscribe((snapshot) => render(snapshot.context));
render(store.getSnapshot().context);

const events = new EventSource('/v1/stream');
events.addEventListener('open', () => store.trigger.connection({ state: 'open' }));
events.addEventListener('error', () => store.trigger.connection({ state: 'closed' }));
events.addEventListener('actor', (e) => store.trigger.actor({ actor: JSON.parse(e.data) }));
