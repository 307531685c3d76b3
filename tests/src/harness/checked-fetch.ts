import { isTetherUrl, type OpenApiChecker, type SeenResponse } from './openapi-checker.ts';

/** What one test file's responses came to: how many were checked, and each one that broke the document. */
export interface Tally {
  checked: number;
  violations: string[];
  /** Time spent judging (building the checker, compiling and running schemas), for the overhead figure. */
  ms: number;
}

/** A response from tether that the OpenAPI document does not describe; thrown to the caller that fetched it. */
export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

/** Marks a checked fetch, so a test can tell the check is in place. */
export const CHECKED = Symbol.for('tether.openapi.checkedFetch');

/** Judges responses against the document and keeps the tally; the document and its schemas are built on first use. */
export class ResponseCheck {
  readonly tally: Tally = { checked: 0, violations: [], ms: 0 };
  private checker?: OpenApiChecker;
  /** Judgments still reading a body (a browser page's responses arrive as events). */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly build: () => OpenApiChecker,
    /** The document the checker holds, to compare every served /openapi.json with. */
    private readonly expectedDocument: () => unknown,
  ) {}

  /** Counts one response from tether and returns what is wrong with it, recorded in the tally (undefined: nothing). */
  judge(seen: SeenResponse): string | undefined {
    const started = performance.now();
    this.checker ??= this.build();
    this.tally.checked++;
    const verdict = this.checker.check(seen);
    this.tally.ms += performance.now() - started;
    const problems = [...verdict.problems];
    if (verdict.route === 'get /openapi.json' && seen.status === 200 && !sameJson(seen.body, this.expectedDocument()))
      problems.push('the served document differs from contracts/openapi.json (run `npm run openapi`)');
    if (problems.length === 0) return undefined;
    const message = `${seen.method} ${new URL(seen.url).pathname} → ${seen.status} does not match /openapi.json (${verdict.route}): ${problems.join('; ')}`;
    this.tally.violations.push(message);
    return message;
  }

  /** Keeps a judgment that runs on its own until `settled()`. */
  track(judgment: Promise<unknown>): void {
    const p = judgment.catch(() => undefined).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Every tracked judgment is done. */
  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }

  /** Whether the body must be read to judge a response of this content type (only JSON: a stream never ends). */
  wantsBody(contentType: string): boolean {
    return contentType.startsWith('application/json');
  }
}

/**
 * `fetch` that checks every response from tether against the OpenAPI document before the caller sees
 * it: a violation is recorded and thrown, so the test that made the call fails even where it only
 * looks at the status. Responses from anything else pass through untouched (and unslowed).
 */
export function checkedFetch(inner: typeof fetch, check: ResponseCheck): typeof fetch {
  const checked: typeof fetch = async (input, init) => {
    const res = await inner(input, init);
    const request = input instanceof Request ? input : undefined;
    const url = res.url || (request?.url ?? String(input));
    if (!isTetherUrl(url)) return res;
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const contentType = res.headers.get('content-type') ?? '';
    let body: unknown;
    if (check.wantsBody(contentType)) {
      try {
        body = await res.clone().json();
      } catch (err) {
        // The caller aborted (theirs to see), or the body is not the JSON it says it is (a violation).
        if ((err as Error).name === 'AbortError') return res;
        body = `(unparsable: ${(err as Error).message})`;
      }
    }
    const violation = check.judge({ method, url, status: res.status, contentType, body });
    if (violation) throw new ContractViolation(violation);
    return res;
  };
  return Object.assign(checked, { [CHECKED]: true });
}

/** Same JSON text: the served document went through JSON.stringify too, so key order is the generator's. */
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
