import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type formatsPlugin from 'ajv-formats';
import { routes } from '@tether/contracts';

// Checks HTTP responses against an OpenAPI 3.1 document with a JSON Schema (2020-12) validator, so
// what the document promises is checked as a client reads it, not through the zod schemas it came from.

type Content = Record<string, { schema?: unknown }>;
interface Operation {
  operationId?: string;
  responses: Record<string, { content?: Content }>;
}
export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

/** One response as the checker sees it; `body` is the parsed JSON, absent when the body is not JSON or unread. */
export interface SeenResponse {
  method: string;
  url: string;
  status: number;
  contentType: string;
  body?: unknown;
}

/** What a response was matched to, and what is wrong with it (nothing: it is as declared). */
export interface Verdict {
  /** Where the response was matched: `get /v1/shares/{share}`, or `unrouted` (the gateway's not-found answer). */
  route: string;
  problems: string[];
}

const DOC_ID = 'tether:openapi.json';
/** tether's pages (not API): only their JSON answers are checked, and those are the error body. */
const PAGES = /^\/(?:$|dashboard\/|assets\/|v\/|viewer\/)/;
/** The routes outside /v1/ (/healthz, /metrics, /openapi.json), from the route table. */
const TOP_LEVEL = new Set(Object.values(routes).map((r) => r.path as string));

/**
 * Whether a response to this URL comes from tether: an API path (under /v1/ or in the route table) or
 * one of its pages. Cheap, and asked before anything is built: other servers' calls (the harness
 * health check in-process) must not pay for the document.
 */
export function isTetherUrl(url: string): boolean {
  const path = new URL(url).pathname;
  return path.startsWith('/v1/') || PAGES.test(path) || TOP_LEVEL.has(path);
}
const ERROR_BODY = '#/components/schemas/CommandRejected';

interface Template {
  path: string;
  method: string;
  pattern: RegExp;
  /** Literal segments before parameters, as the gateway's router prefers them: 0 per literal, 1 per parameter. */
  rank: number[];
  op: Operation;
}

export class OpenApiChecker {
  private readonly ajv: Ajv2020;
  private readonly templates: Template[];
  /** Compiled once per (operation, status) and reused: a worker pays for each schema once. */
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenApiDoc) {
    // Loaded on first use (ajv is CommonJS): a test file that never calls tether does not pay for it.
    const require = createRequire(import.meta.url);
    const { Ajv2020: Ajv } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    this.ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
    (require('ajv-formats') as typeof formatsPlugin).default(this.ajv);
    // The document's own fields are not schema keywords; strict mode still checks every schema in it.
    this.ajv.addVocabulary(['openapi', 'info', 'paths', 'components', 'security']);
    // The document as one schema resource: every response schema is a JSON pointer into it, and its
    // $refs (#/components/schemas/…) resolve against it as in the document.
    this.ajv.addSchema(doc as object, DOC_ID);
    this.templates = Object.entries(doc.paths)
      .flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => {
          const segments = path.split('/');
          const pattern = segments.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : escapeRegExp(s))).join('/');
          return {
            path,
            method,
            op,
            pattern: new RegExp(`^${pattern}$`),
            rank: segments.map((s) => +s.startsWith('{')),
          };
        }),
      )
      .sort((a, b) => compareRanks(a.rank, b.rank));
  }

  /** Whether the body must be read to check this response: only JSON is (a stream never ends). */
  wantsBody(contentType: string): boolean {
    return contentType.startsWith('application/json');
  }

  /** What is wrong with one response: an undeclared status, another content type, or a body its schema refuses. */
  check(res: SeenResponse): Verdict {
    const path = new URL(res.url).pathname;
    const method = res.method.toLowerCase() === 'head' ? 'get' : res.method.toLowerCase();
    const t = this.templates.find((x) => x.method === method && x.pattern.test(path));
    if (!t) return this.checkUnrouted(res, path);
    const route = `${method} ${t.path}`;
    const declared = t.op.responses[String(res.status)];
    if (!declared)
      return {
        route,
        problems: [
          `status ${res.status} is not declared (declared: ${Object.keys(t.op.responses).join(', ')}); body: ${preview(res.body)}`,
        ],
      };
    const [type, media] = Object.entries(declared.content ?? {})[0] ?? [];
    if (!type) return { route, problems: [] };
    if (!res.contentType.startsWith(type))
      return { route, problems: [`content type "${res.contentType}", declared "${type}"`] };
    if (type !== 'application/json' || media?.schema === undefined) return { route, problems: [] };
    const pointer = ['paths', t.path, t.method, 'responses', String(res.status), 'content', type, 'schema'];
    return { route, problems: this.validate(pointer, res.body) };
  }

  /** No operation takes this method and path: the gateway's not-found answer (404, or 400 for a malformed path), in the error body. */
  private checkUnrouted(res: SeenResponse, path: string): Verdict {
    const route = 'unrouted';
    const page = PAGES.test(path) && !path.startsWith('/v1/');
    if (page && !this.wantsBody(res.contentType)) return { route, problems: [] };
    if (res.status !== 404 && res.status !== 400)
      return { route, problems: [`${res.status} where no operation of the document is (expected 404)`] };
    if (!this.wantsBody(res.contentType))
      return { route, problems: [`content type "${res.contentType}", expected application/json`] };
    return { route, problems: this.validate(ERROR_BODY.slice(2).split('/'), res.body) };
  }

  private validate(pointer: string[], body: unknown): string[] {
    const ref = `${DOC_ID}#/${pointer.map((p) => encodeURIComponent(p.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`;
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    return validate(body) ? [] : [`${errorsText(validate.errors ?? [])}; body: ${preview(body)}`];
  }
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const preview = (body: unknown) => (body === undefined ? '(not read)' : JSON.stringify(body).slice(0, 300));
const errorsText = (errors: ErrorObject[]) =>
  errors
    .slice(0, 8)
    .map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
