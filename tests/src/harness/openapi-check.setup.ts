import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import { checkedFetch } from './checked-fetch.ts';
import { tetherResponses } from './tether-responses.ts';

// vitest setupFile: every response from tether that a test file sees through fetch is checked against
// the OpenAPI document (contracts/openapi.json, which the served one equals: tests/src/openapi). A
// violation fails the call that got it and, in case a retry loop swallowed it, the file at its end.

globalThis.fetch = checkedFetch(globalThis.fetch, tetherResponses);

afterAll(async () => {
  await tetherResponses.settled();
  const { tally } = tetherResponses;
  const dir = inject('openapiTallyDir');
  const file = expect.getState().testPath ?? 'unknown';
  if (dir) writeFileSync(join(dir, `${process.pid}-${Date.now()}.json`), JSON.stringify({ file, ...tally }));
  if (tally.violations.length > 0)
    throw new Error(
      `${tally.violations.length} of ${tally.checked} responses from tether did not match /openapi.json:\n${tally.violations.slice(0, 10).join('\n')}`,
    );
});
