// tether dashboard: the activity of one lane, from the audit trail (GET /v1/audit?lane_id=): what each
// actor did to the lane and what belongs to it, oldest first, with a chip per actor to narrow it down.
import { actorChip, actorText, el, getJson, query, short, showError, when } from '/dashboard/dom.js';

const LIMIT = 500;
let state = { laneId: null, records: [], actor: null, system: false };
let section;

/** Opens the view: the lane picker, then the chosen lane's activity (`#activity/<lane>`). */
export async function open(root, [laneId] = []) {
  section = root;
  if (!root.querySelector('form')) build(root);
  await loadLanes(laneId ?? state.laneId);
}

function build(root) {
  root.replaceChildren(
    el('h2', {}, 'activity'),
    el(
      'form',
      { id: 'activity-form', class: 'filters' },
      el('label', {}, 'lane ', el('select', { id: 'activity-lane', name: 'lane' })),
      el(
        'label',
        {},
        el('input', { type: 'checkbox', id: 'activity-system', name: 'system' }),
        " tether's own (system, service)",
      ),
      el('button', { type: 'submit' }, 'refresh'),
    ),
    el('div', { id: 'activity-error', class: 'error', role: 'alert', hidden: '' }),
    el('div', { id: 'activity-actors', 'aria-label': 'actors' }),
    el('ol', { id: 'activity-timeline', 'aria-label': 'activity' }),
    el(
      'p',
      { id: 'activity-cut', class: 'muted', hidden: '' },
      `The newest ${LIMIT} records; older ones are not shown.`,
    ),
  );
  root.querySelector('form').addEventListener('submit', (e) => {
    e.preventDefault();
    void load(root.querySelector('#activity-lane').value);
  });
  root.querySelector('#activity-lane').addEventListener('change', (e) => {
    location.hash = `#activity/${encodeURIComponent(e.target.value)}`;
  });
  root.querySelector('#activity-system').addEventListener('change', (e) => {
    state.system = e.target.checked;
    render();
  });
  root.querySelector('#activity-actors').addEventListener('click', (e) => {
    const chip = e.target.closest('[data-actor]');
    if (!chip) return;
    state.actor = state.actor === chip.dataset.actor ? null : chip.dataset.actor;
    render();
  });
}

async function loadLanes(wanted) {
  const { body, error } = await getJson('/v1/entities/lane');
  showError(section.querySelector('#activity-error'), error);
  if (error) return;
  const lanes = body.items.sort((a, b) => b.streamSeq - a.streamSeq);
  const select = section.querySelector('#activity-lane');
  select.replaceChildren(
    ...lanes.map((l) =>
      el(
        'option',
        { value: l.entityId },
        `${l.context.displayName ?? short(l.entityId)} (${short(l.entityId)}, ${l.value})`,
      ),
    ),
  );
  if (lanes.length === 0) {
    section.querySelector('#activity-timeline').replaceChildren(el('li', { class: 'empty' }, 'No lanes yet.'));
    return;
  }
  const laneId = lanes.some((l) => l.entityId === wanted) ? wanted : lanes[0].entityId;
  select.value = laneId;
  await load(laneId);
}

async function load(laneId) {
  const { body, error } = await getJson(`/v1/audit?${query({ lane_id: laneId, limit: LIMIT })}`);
  showError(section.querySelector('#activity-error'), error);
  state = { ...state, laneId, records: error ? [] : body.items, actor: laneId === state.laneId ? state.actor : null };
  render();
}

const isOwn = (r) => r.actor.kind === 'system' || r.actor.kind === 'service';

function render() {
  const shown = state.records.filter((r) => state.system || !isOwn(r));
  const counts = new Map();
  for (const r of shown) counts.set(actorText(r.actor), (counts.get(actorText(r.actor)) ?? 0) + 1);
  section.querySelector('#activity-actors').replaceChildren(
    ...[...counts].map(([actor, n]) => {
      const chip = actorChip(actor);
      chip.setAttribute('role', 'button');
      chip.setAttribute('aria-pressed', String(state.actor === actor));
      chip.append(el('span', { class: 'count' }, ` ${n}`));
      return chip;
    }),
  );
  const rows = shown.filter((r) => !state.actor || actorText(r.actor) === state.actor);
  section.dataset.laneId = state.laneId ?? '';
  section.querySelector('#activity-cut').hidden = state.records.length < LIMIT;
  section.querySelector('#activity-timeline').replaceChildren(
    ...(rows.length
      ? rows.map((r) =>
          el(
            'li',
            {
              class: 'activity',
              'data-seq': String(r.seq),
              'data-actor': actorText(r.actor),
              'data-kind': r.actor.kind,
              'data-action': r.action,
            },
            el('time', { datetime: r.at }, when(r.at)),
            actorChip(r.actor),
            el('strong', {}, r.action),
            el(
              'a',
              { href: `#time-travel/${r.entity}/${encodeURIComponent(r.entityId)}`, class: 'muted' },
              `${r.entity} ${short(r.entityId)}`,
            ),
            ...(r.reason ? [el('span', { class: 'muted' }, r.reason)] : []),
          ),
        )
      : [
          el(
            'li',
            { class: 'empty' },
            state.records.length ? 'Nothing by these actors.' : 'Nothing done on this lane yet.',
          ),
        ]),
  );
}
