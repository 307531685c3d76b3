import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { HttpReply, HttpRequest, WebPages } from '../capability.ts';

/** Content types of the files tether's own pages are made of. */
export const PAGE_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** A versioned URL's file never changes (its content hash is in the URL): browsers keep it for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A page's files and the versioned URLs its HTML asks for them by. */
export interface PageAssets {
  /** The page's HTML with each `"<route>/<file>"` it names turned into `"<route>/<file>?v=<content hash>"`. */
  versioned(html: string): string;
}

/** A page of tether's (a viewer, a player): never cached, no referrer, and only what `csp` lets it load. */
export function sendPage(reply: HttpReply, file: string, csp: string, assets?: PageAssets): HttpReply {
  const html = readFileSync(file, 'utf8');
  return reply
    .headers({
      'content-type': PAGE_TYPES.html!,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'content-security-policy': csp,
    })
    .send(assets ? assets.versioned(html) : html);
}

/** One file as served: its bytes, compressed once, and its content hash (the version and the ETag). */
interface Prepared {
  mtimeMs: number;
  size: number;
  version: string;
  etag: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

/**
 * Serves `route` (e.g. "/viewer/:file") from an allow-list of files by the name a page asks for: no path
 * from the request reaches the disk; a name not listed is not found. Each file is read and compressed
 * (br, gzip) once, again only when it changes on disk; it answers with a weak ETag of its content (304 on a
 * match) and, asked for at its current `?v=` version, as immutable.
 */
export function servePageFiles(app: WebPages, route: string, files: ReadonlyMap<string, string>): PageAssets {
  const prefix = route.slice(0, route.lastIndexOf('/') + 1);
  const cache = new Map<string, Prepared>();
  const prepared = (name: string, path: string): Prepared => {
    const { mtimeMs, size } = statSync(path);
    const had = cache.get(name);
    if (had && had.mtimeMs === mtimeMs && had.size === size) return had;
    const identity = readFileSync(path);
    const version = createHash('sha256').update(identity).digest('base64url').slice(0, 16);
    const file = {
      mtimeMs,
      size,
      version,
      etag: `W/"${version}"`,
      identity,
      gzip: gzipSync(identity, { level: 9 }),
      br: brotliCompressSync(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } }),
    };
    cache.set(name, file);
    return file;
  };

  app.get(route, async (req, reply) => {
    const name = req.params.file!;
    const path = files.get(name);
    if (!path) return reply.callNotFound();
    const file = prepared(name, path);
    const asked = (req.query as { v?: unknown } | undefined)?.v;
    reply.headers({
      'x-content-type-options': 'nosniff',
      etag: file.etag,
      vary: 'accept-encoding',
      // An old or missing version is asked again each time (answered 304 while unchanged).
      'cache-control': asked === file.version ? IMMUTABLE : 'no-cache',
    });
    if (matches(req.headers['if-none-match'], file.etag)) return reply.status(304).send();
    const encoding = pickEncoding(req);
    if (encoding) reply.header('content-encoding', encoding === 'gzip' ? 'gzip' : 'br');
    return reply
      .type(PAGE_TYPES[name.slice(name.lastIndexOf('.') + 1)]!)
      .send(encoding ? file[encoding] : file.identity);
  });

  return {
    versioned(html) {
      let out = html;
      for (const [name, path] of files)
        out = out.replaceAll(`"${prefix}${name}"`, `"${prefix}${name}?v=${prepared(name, path).version}"`);
      return out;
    },
  };
}

/** If-None-Match: `*` or a list of ETags, compared weakly (the W/ prefix aside). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.trim() === '*' || header.split(',').some((tag) => bare(tag) === bare(etag));
}

/** The best encoding the request accepts (q=0 refuses one): brotli, then gzip, else none. */
function pickEncoding(req: HttpRequest): 'br' | 'gzip' | null {
  const accepted = new Set<string>();
  for (const part of String(req.headers['accept-encoding'] ?? '').split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (coding && (q === undefined || Number(q) > 0)) accepted.add(coding);
  }
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip')) return 'gzip';
  return null;
}
