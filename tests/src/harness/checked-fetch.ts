import type { OpenApiChecker } from './openapi-checker.ts';

/** What one test file's responses came to: how many were checked, and each one that broke the document. */
export interface Tally {
  checked: number;
  violations: string[];
}

/** Marks a checked fetch, so a test can tell the check is in place. */
export const CHECKED = Symbol.for('tether.openapi.checkedFetch');

export const newTally = (): Tally => ({ checked: 0, violations: [] });

/** A response from tether that the OpenAPI document does not describe; thrown to the caller that fetched it. */
export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

/**
 * `fetch` that checks every response from tether against the OpenAPI document before the caller sees
 * it: a violation is recorded in the tally and thrown, so the test that made the call fails even
 * where it only looks at the status. Responses from anything else pass through untouched.
 */
export function checkedFetch(
  inner: typeof fetch,
  checker: () => OpenApiChecker,
  tally: Tally,
  /** The document the checker holds, to compare every served /openapi.json with. */
  expectedDocument: () => unknown,
): typeof fetch {
  const checked: typeof fetch = async (input, init) => {
    const res = await inner(input, init);
    const request = input instanceof Request ? input : undefined;
    const url = res.url || (request?.url ?? String(input));
    const c = checker();
    if (!c.covers(url)) return res;
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const contentType = res.headers.get('content-type') ?? '';
    let body: unknown;
    if (c.wantsBody(contentType)) {
      try {
        body = await res.clone().json();
      } catch (err) {
        // The caller aborted, or the body is not JSON although it says so: the first is the caller's, the second a violation.
        if ((err as Error).name === 'AbortError') return res;
        body = `(unparsable: ${(err as Error).message})`;
      }
    }
    tally.checked++;
    const verdict = c.check({ method, url, status: res.status, contentType, body });
    const problems = [...verdict.problems];
    if (verdict.route === 'get /openapi.json' && res.status === 200 && !sameJson(body, expectedDocument()))
      problems.push('the served document differs from the one generated from contracts/ (npm run openapi)');
    if (problems.length === 0) return res;
    const message = `${method} ${new URL(url).pathname} → ${res.status} does not match /openapi.json (${verdict.route}): ${problems.join('; ')}`;
    tally.violations.push(message);
    throw new ContractViolation(message);
  };
  return Object.assign(checked, { [CHECKED]: true });
}

/** Same JSON text: the served document went through JSON.stringify too, so key order is the generator's. */
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
