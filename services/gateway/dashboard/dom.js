// tether dashboard: small DOM and API helpers the newer modules share (share panel, terminal viewers,
// activity, time travel, history).

/** An element with attributes and children (strings become text); null and undefined ones are left out. */
export const el = (tag, attrs = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) n.setAttribute(k, v);
  for (const c of children) if (c !== undefined && c !== null) n.append(c);
  return n;
};

/** A refusal as the panel shows it: `CODE (reason): message`. */
export const rejectionText = (r) => `${r.code}${r.reason ? ` (${r.reason})` : ''}: ${r.message}`;

export const short = (id) => String(id ?? '').slice(0, 8);
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

/** "kind:id" of an actor object, or the text as is. */
export const actorText = (a) => (typeof a === 'string' ? a : `${a.kind}:${a.id}`);

/** An actor as a chip: people, agents and tether's own (system, service) look different. */
export function actorChip(a) {
  const text = actorText(a);
  const kind = text.slice(0, text.indexOf(':'));
  return el('span', { class: 'actor-chip', 'data-kind': kind, 'data-actor': text, title: `${kind} ${text}` }, text);
}

/** GET a JSON document: {body} or {error: "CODE: message"} (the API's refusal, as it says it). */
export async function getJson(path) {
  try {
    const res = await fetch(path);
    const body = await res.json().catch(() => undefined);
    if (res.ok) return { body };
    return { error: `${body?.error?.code ?? res.status}: ${body?.error?.message ?? res.statusText}` };
  } catch (err) {
    return { error: `the request failed: ${err}` };
  }
}

/** A query string of the filled-in fields only. */
export const query = (params) =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();

/** Replaces an error box's text, or hides it. */
export function showError(box, error) {
  box.hidden = !error;
  box.textContent = error ?? '';
}
