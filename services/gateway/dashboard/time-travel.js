// tether dashboard: time travel. Pick an entity, scrub through its events (slider, previous, next) and see
// its state and context after each one, as GET /v1/entities/{entity}/{id}/replay folds them with the
// entity's machine (secrets left out by the API). `#time-travel/<entity>/<id>` opens one directly.
import { actorChip, el, getJson, short, showError, when } from '/dashboard/dom.js';

const KINDS = [
  'lane',
  'session',
  'terminal',
  'share',
  'approval',
  'handoff',
  'taskRun',
  'liveSession',
  'harness',
  'recovery',
];
let section;
let replay = null;
let at = 0;

/** Opens the view on the entity the URL names, or on the picker. */
export async function open(root, [entity, id] = []) {
  section = root;
  if (!root.querySelector('form')) build(root);
  const kind = KINDS.includes(entity) ? entity : root.querySelector('#tt-entity').value;
  root.querySelector('#tt-entity').value = kind;
  await loadIds(kind, id);
  if (id) await load(kind, id);
}

function build(root) {
  root.replaceChildren(
    el('h2', {}, 'time travel'),
    el(
      'form',
      { id: 'tt-form', class: 'filters' },
      el('label', {}, 'entity ', el('select', { id: 'tt-entity' }, ...KINDS.map((k) => el('option', { value: k }, k)))),
      el('label', {}, 'id ', el('select', { id: 'tt-id' })),
      el('button', { type: 'submit' }, 'show'),
    ),
    el('div', { id: 'tt-error', class: 'error', role: 'alert', hidden: '' }),
    el('div', { id: 'tt-player', hidden: '' }),
  );
  root.querySelector('#tt-entity').addEventListener('change', (e) => void loadIds(e.target.value));
  root.querySelector('form').addEventListener('submit', (e) => {
    e.preventDefault();
    const kind = root.querySelector('#tt-entity').value;
    const id = root.querySelector('#tt-id').value;
    const hash = `#time-travel/${kind}/${encodeURIComponent(id)}`;
    if (id && location.hash === hash) void load(kind, id);
    else if (id) location.hash = hash;
  });
}

/** The picker's ids: every actor of that kind, the most recently changed first. */
async function loadIds(kind, wanted) {
  const { body, error } = await getJson(`/v1/entities/${kind}`);
  showError(section.querySelector('#tt-error'), error);
  const items = error ? [] : body.items.sort((a, b) => b.streamSeq - a.streamSeq);
  const select = section.querySelector('#tt-id');
  select.replaceChildren(
    ...items.map((a) =>
      el('option', { value: a.entityId }, `${short(a.entityId)} ${nameOf(a)} (${stateText(a.value)})`),
    ),
  );
  if (wanted) {
    if (!items.some((a) => a.entityId === wanted)) select.append(el('option', { value: wanted }, wanted));
    select.value = wanted;
  }
}

const nameOf = (a) => a.context?.displayName ?? a.context?.title ?? a.context?.name ?? '';
const stateText = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

async function load(kind, id) {
  const { body, error } = await getJson(`/v1/entities/${kind}/${encodeURIComponent(id)}/replay`);
  showError(section.querySelector('#tt-error'), error);
  const player = section.querySelector('#tt-player');
  player.hidden = !!error;
  if (error) return;
  replay = body;
  at = body.steps.length - 1;
  player.replaceChildren(
    el('h3', {}, `${body.entity} ${body.entityId}`, el('span', { class: 'muted' }, ` · ${body.total} events`)),
    el(
      'div',
      { class: 'scrub' },
      el('button', { type: 'button', id: 'tt-prev', 'aria-label': 'previous event' }, '◀'),
      el('input', {
        type: 'range',
        id: 'tt-slider',
        min: '0',
        max: String(body.steps.length - 1),
        step: '1',
        value: String(at),
        'aria-label': 'event',
      }),
      el('button', { type: 'button', id: 'tt-next', 'aria-label': 'next event' }, '▶'),
      el('span', { id: 'tt-position' }),
    ),
    el('ol', { id: 'tt-events' }, ...body.steps.map((s, i) => tick(s, i))),
    el('div', { id: 'tt-step' }),
  );
  player.querySelector('#tt-slider').addEventListener('input', (e) => show(Number(e.target.value)));
  player.querySelector('#tt-prev').addEventListener('click', () => show(at - 1));
  player.querySelector('#tt-next').addEventListener('click', () => show(at + 1));
  const pick = (e) => {
    const li = e.target.closest('[data-index]');
    if (!li || (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ')) return;
    e.preventDefault();
    show(Number(li.dataset.index));
  };
  player.querySelector('#tt-events').addEventListener('click', pick);
  player.querySelector('#tt-events').addEventListener('keydown', pick);
  show(at);
}

const tick = (s, i) =>
  el(
    'li',
    { 'data-index': String(i), 'data-state': stateText(s.state), role: 'button', tabindex: '0' },
    `${s.seq}. ${s.type} → ${stateText(s.state)}`,
  );

/** Keys whose value differs from the step before: what this event changed. */
function changedKeys(before, after) {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before?.[k]) !== JSON.stringify(after[k]));
}

function show(i) {
  if (!replay || i < 0 || i >= replay.steps.length) return;
  at = i;
  const s = replay.steps[i];
  const prev = replay.steps[i - 1];
  const player = section.querySelector('#tt-player');
  player.querySelector('#tt-slider').value = String(i);
  player.querySelector('#tt-prev').disabled = i === 0;
  player.querySelector('#tt-next').disabled = i === replay.steps.length - 1;
  player.querySelector('#tt-position').textContent = `event ${i + 1} of ${replay.steps.length}`;
  for (const li of player.querySelectorAll('#tt-events li'))
    li.setAttribute('aria-current', String(Number(li.dataset.index) === i));
  const changed = changedKeys(prev?.context, s.context);
  player
    .querySelector('#tt-step')
    .replaceChildren(
      el(
        'div',
        { class: 'tt-event' },
        el('strong', { id: 'tt-type' }, s.type),
        ' by ',
        actorChip(s.actor),
        el('time', { datetime: s.at }, ` ${when(s.at)}`),
        el('span', { class: 'muted' }, ` · v${s.seq} · stream #${s.streamSeq}`),
      ),
      el(
        'div',
        {},
        'state ',
        el('span', { id: 'tt-state', class: 'status', 'data-status': stateText(s.state) }, stateText(s.state)),
      ),
      el('div', { class: 'muted' }, 'data'),
      el('pre', { id: 'tt-data' }, JSON.stringify(s.data, null, 2)),
      el(
        'div',
        { class: 'muted' },
        'context after it',
        changed.length ? ` (changed: ${changed.join(', ')})` : ' (unchanged)',
      ),
      el(
        'dl',
        { id: 'tt-context' },
        ...Object.entries(s.context).flatMap(([k, v]) => [
          el('dt', { 'data-changed': String(changed.includes(k)) }, k),
          el('dd', { 'data-key': k, 'data-changed': String(changed.includes(k)) }, JSON.stringify(v)),
        ]),
      ),
    );
}
