import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import { openApiDocument } from '@tether/contracts/openapi';
import { checkedFetch, newTally } from './checked-fetch.ts';
import { OpenApiChecker, type OpenApiDoc } from './openapi-checker.ts';

// vitest setupFile: every response from tether that a test file sees through fetch is checked against
// the OpenAPI document (the generated one, which the served one equals: tests/src/openapi). A
// violation fails the call that got it and, in case a retry loop swallowed it, the file at its end.

const tally = newTally();
let doc: OpenApiDoc | undefined;
let checker: OpenApiChecker | undefined;
/** As served: through JSON, once per file, and only when a response from tether is first seen. */
const document = () => (doc ??= JSON.parse(JSON.stringify(openApiDocument())) as OpenApiDoc);

globalThis.fetch = checkedFetch(globalThis.fetch, () => (checker ??= new OpenApiChecker(document())), tally, document);

afterAll(() => {
  const dir = inject('openapiTallyDir');
  const file = expect.getState().testPath ?? 'unknown';
  if (dir) writeFileSync(join(dir, `${process.pid}-${Date.now()}.json`), JSON.stringify({ file, ...tally }));
  if (tally.violations.length > 0)
    throw new Error(
      `${tally.violations.length} of ${tally.checked} responses from tether did not match /openapi.json:\n${tally.violations.slice(0, 10).join('\n')}`,
    );
});
