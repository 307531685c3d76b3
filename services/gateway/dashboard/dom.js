// tether dashboard: the one DOM helper the newer modules share.

/** An element with attributes and children (strings become text). */
export const el = (tag, attrs = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  for (const c of children) n.append(c);
  return n;
};

/** A refusal as the panel shows it: `CODE (reason): message`. */
export const rejectionText = (r) => `${r.code}${r.reason ? ` (${r.reason})` : ''}: ${r.message}`;
