// tether dashboard: history. Ended and denied shares (GET /v1/shares?status=…) and denied approvals
// (GET /v1/approvals?status=denied), filtered and searched by the API from the read model, a page at a
// time: the live stream does not keep long-ended shares.
import { actorChip, el, getJson, query, short, showError, when } from '/dashboard/dom.js';

const PAGE = 25;
const REASONS = ['', 'expired', 'revoked', 'terminated', 'failed', 'switched', 'denied'];
const BACKENDS = ['', 'native', 'tmate', 'upterm'];
let section;

export async function open(root) {
  section = root;
  if (!root.querySelector('form')) build(root);
  await search();
}

const select = (name, options, label) =>
  el('label', {}, `${label} `, el('select', { name }, ...options.map(([v, t]) => el('option', { value: v }, t))));
const input = (name, label, attrs = {}) => el('label', {}, `${label} `, el('input', { name, ...attrs }));

function build(root) {
  root.replaceChildren(
    el('h2', {}, 'history'),
    el(
      'form',
      { id: 'history-form', class: 'filters', role: 'search' },
      input('q', 'search', { type: 'search', placeholder: 'id prefix, participant, reason' }),
      select(
        'status',
        [
          ['ended', 'ended'],
          ['denied', 'denied'],
        ],
        'status',
      ),
      select(
        'reason',
        REASONS.map((r) => [r, r || 'any reason']),
        'reason',
      ),
      select(
        'backend',
        BACKENDS.map((b) => [b, b || 'any backend']),
        'backend',
      ),
      input('terminal_id', 'terminal', { size: '10' }),
      input('owner', 'owner', { placeholder: 'human:alice', size: '12' }),
      input('since', 'from', { type: 'datetime-local' }),
      input('until', 'to', { type: 'datetime-local' }),
      el('button', { type: 'submit' }, 'search'),
    ),
    el('div', { id: 'history-error', class: 'error', role: 'alert', hidden: '' }),
    el('h3', {}, 'shares'),
    el(
      'table',
      { id: 'history-shares' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['share', 'how it ended', 'backend', 'owner', 'terminal', 'participants', 'ended'].map((h) =>
            el('th', {}, h),
          ),
        ),
      ),
      el('tbody'),
    ),
    el('button', { type: 'button', id: 'history-more', hidden: '' }, 'more'),
    el('h3', {}, 'denied approvals'),
    el(
      'table',
      { id: 'history-approvals' },
      el(
        'thead',
        {},
        el('tr', {}, ...['approval', 'for', 'asked by', 'rule', 'denied by', 'why'].map((h) => el('th', {}, h))),
      ),
      el('tbody'),
    ),
  );
  const form = root.querySelector('form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void search();
  });
  for (const s of form.querySelectorAll('select')) s.addEventListener('change', () => void search());
  root.querySelector('#history-more').addEventListener('click', (e) => void more(e.target.dataset.cursor));
}

/** The form as the API's query: local date-times become ISO instants. */
function filters() {
  const f = Object.fromEntries(new FormData(section.querySelector('form')));
  for (const k of ['since', 'until']) if (f[k]) f[k] = new Date(f[k]).toISOString();
  return f;
}

async function search() {
  const f = filters();
  const [shares, approvals] = await Promise.all([
    getJson(`/v1/shares?${query({ ...f, limit: PAGE })}`),
    getJson(`/v1/approvals?${query({ status: 'denied', q: f.q, limit: PAGE })}`),
  ]);
  showError(section.querySelector('#history-error'), shares.error ?? approvals.error);
  renderShares(shares.body, false);
  section
    .querySelector('#history-approvals tbody')
    .replaceChildren(
      ...(approvals.body?.items.length
        ? approvals.body.items.map(approvalRow)
        : [el('tr', { class: 'empty' }, el('td', { colspan: '6' }, 'No denied approvals match.'))]),
    );
  section.dataset.loaded = String(Date.now()); // tests wait for a fresh answer
}

async function more(cursor) {
  const page = await getJson(`/v1/shares?${query({ ...filters(), limit: PAGE, cursor })}`);
  showError(section.querySelector('#history-error'), page.error);
  renderShares(page.body, true);
}

function renderShares(page, append) {
  const body = section.querySelector('#history-shares tbody');
  const rows = (page?.items ?? []).map(shareRow);
  if (append) body.append(...rows);
  else
    body.replaceChildren(
      ...(rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: '7' }, 'No shares match.'))]),
    );
  const button = section.querySelector('#history-more');
  button.hidden = !page?.next_cursor;
  button.dataset.cursor = page?.next_cursor ?? '';
}

const shareRow = (s) =>
  el(
    'tr',
    { 'data-share-id': s.share_id, 'data-status': s.status, 'data-reason': s.ended?.reason ?? '' },
    el(
      'td',
      {},
      el('a', { href: `#time-travel/share/${encodeURIComponent(s.share_id)}`, title: s.share_id }, short(s.share_id)),
    ),
    el(
      'td',
      {},
      el('span', { class: 'status', 'data-status': s.ended?.reason ?? s.status }, s.ended?.reason ?? s.status),
      ...(s.ended?.detail ? [el('span', { class: 'muted' }, ` ${s.ended.detail}`)] : []),
      ...(s.ended?.by ? [el('span', { class: 'muted' }, ` (${s.ended.by})`)] : []),
    ),
    el('td', {}, s.backend),
    el('td', {}, actorChip(s.owner)),
    el('td', { title: s.terminal_id }, short(s.terminal_id)),
    el('td', { class: 'participants' }, s.participants.map((p) => p.name).join(', ')),
    el('td', {}, when(s.ended?.at)),
  );

const approvalRow = (a) =>
  el(
    'tr',
    { 'data-approval-id': a.approval_id },
    el(
      'td',
      {},
      el(
        'a',
        { href: `#time-travel/approval/${encodeURIComponent(a.approval_id)}`, title: a.approval_id },
        short(a.approval_id),
      ),
    ),
    el('td', {}, a.share_id ? `share ${short(a.share_id)}` : `handoff ${short(a.handoff_id)}`),
    el('td', {}, actorChip(a.requested_by)),
    el('td', {}, `${a.rule_id}${a.reason ? ` — ${a.reason}` : ''}`),
    el('td', {}, a.decided_by ?? ''),
    el('td', { class: 'why' }, a.decision_note ?? ''),
  );
