// Events and audit records are durable and widely readable (architecture rule 8): anything that could
// grant access is replaced before it is written (free text as commands enter, see freeText; event data
// again in the audit trail). The rules lean towards hiding: a false positive hides a harmless value, a
// false negative leaks a credential for as long as the stream is kept.

export const REDACTED = '[redacted]';

/** Words that make a key secret, wherever they appear in it (camelCase, snake_case, kebab-case). */
const SECRET_WORD =
  /^(tokens?|secrets?|password|passwords|passwd|pass|pwd|keys?|apikey|hash|hashes|links?|cookies?|authorization|auth|credentials?|bearer|jwt|otp|pin|signature|sig)$/i;

/**
 * Words that, as the last word of a key, make it describe a secret rather than hold it:
 * `keyCount`, `tokenExpiresAt`, `linkTtlMs`, `tokenId`, `hashAlgorithm`, and flags like `hasToken`.
 */
const METADATA_LAST_WORD =
  /^(count|counts|id|ids|at|expires|expiry|ttl|ms|ttlms|length|len|size|kind|type|algorithm|alg|version|name|names|status|state|present|required|enabled|set|valid|rotated|checking|policy|mode|format|path|file|fingerprint|source|provider)$/i;
const FLAG_FIRST_WORD = /^(has|is|was|needs|with|no)$/i;
/** A hash of public content (a git commit, a file) is no credential; a token's hash can be brute-forced. */
const PUBLIC_HASH_CONTEXT = /^(commit|git|head|content|file|blob|tree|chain|prev)$/i;

/** `keyCount` → [key, Count]; `rw_link` → [rw, link]; `x-api-key` → [x, api, key]. */
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_\-.:]+/)
    .filter(Boolean);
}

/** True when the value under this key should never be written to the trail. */
export function isSecretKey(key: string): boolean {
  const w = words(key);
  const secret = w.filter((x) => SECRET_WORD.test(x));
  if (secret.length === 0) return false;
  if (secret.every((x) => /^hash(es)?$/i.test(x)) && w.some((x) => PUBLIC_HASH_CONTEXT.test(x))) return false;
  if (w.length > 1 && METADATA_LAST_WORD.test(w[w.length - 1]!)) return false;
  if (w.length > 1 && FLAG_FIRST_WORD.test(w[0]!)) return false;
  return true;
}

/** URL query parameters that carry credentials besides the secret-looking keys (OAuth codes, session ids). */
const SECRET_PARAM = /^(code|session|sessionid|sid)$/i;

const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
// ssh [options] <token>@host: the user part of tmate/upterm ssh strings is the session secret.
const SSH_RE = /\b(ssh(?:\s+-\S+(?:\s+[^\s@-]\S*)?)*\s+)([^\s@]+)@/g;
const BEARER_RE = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/g;
const JWT_RE = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
// A private key block, or from its header to the end when the text was cut off inside it.
const PEM_RE = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g;
/** Credentials recognisable by their shape alone, whatever surrounds them. */
const CREDENTIAL_SHAPES = [
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, // AWS access key ids: long-term (AKIA) and temporary (ASIA)
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g, // GitHub tokens: classic, OAuth, user-to-server, server-to-server, refresh
  /\bgithub_pat_[A-Za-z0-9_]{22,}/g, // GitHub fine-grained personal access tokens
  /\bxox[abeprs]-[A-Za-z0-9-]{10,}/g, // Slack bot, user, app, refresh and workspace tokens
  /\btth_[A-Za-z0-9_-]{20,}/g, // tether's own credentials: tth_<credential id>_<secret>
];
const PAIR_RE = /\b([A-Za-z_][A-Za-z0-9_]*)=([^\s&;,"']+)/g;

/** A URL is a bearer secret when its fragment, userinfo password or a query parameter carries one. */
function isSecretUrl(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return /#.|[?&](token|key|secret|password|sig)[^=]*=/i.test(raw);
  }
  if (u.hash.length > 1 || u.password || (u.protocol === 'ssh:' && u.username)) return true;
  for (const name of u.searchParams.keys()) if (SECRET_PARAM.test(name) || isSecretKey(name)) return true;
  return false;
}

/** Replaces the secret-looking parts of free text; the rest stays readable. */
export function scrubString(s: string): string {
  let out = s.replace(PEM_RE, REDACTED);
  for (const shape of CREDENTIAL_SHAPES) out = out.replace(shape, REDACTED);
  return out
    .replace(URL_RE, (url) => (isSecretUrl(url) ? REDACTED : url))
    .replace(SSH_RE, (_m, prefix: string) => `${prefix}${REDACTED}@`)
    .replace(BEARER_RE, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(JWT_RE, REDACTED)
    .replace(PAIR_RE, (m, name: string) => (isSecretKey(name) ? `${name}=${REDACTED}` : m));
}

const MAX_DEPTH = 32;

/**
 * A deep copy of event data with secrets replaced by "[redacted]": values under secret-looking keys
 * (booleans and null are kept: they say whether, not what) and secret-looking parts of any string.
 */
export function redact<T>(data: T): T {
  return copy(data, 0) as T;
}

function copy(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return scrubString(v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined) return v;
  if (typeof v === 'bigint') return v.toString();
  if (depth >= MAX_DEPTH) return REDACTED; // deeper than any event contract: refuse to guess
  if (Array.isArray(v)) return v.map((x) => copy(x, depth + 1));
  if (typeof v === 'object') {
    const json = (v as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return copy(json.call(v), depth + 1);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      out[k] = isSecretKey(k) && !keepsUnderSecretKey(x) ? REDACTED : copy(x, depth + 1);
    return out;
  }
  return undefined; // functions and symbols are not JSON
}

const keepsUnderSecretKey = (v: unknown) => v === null || v === undefined || typeof v === 'boolean' || v === '';
