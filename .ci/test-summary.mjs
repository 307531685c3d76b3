// Prints one closing line over the vitest JSON reports in .test-results: "tests: N passed, N failed, N skipped".
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const dir = new URL('../.test-results/', import.meta.url);
const reports = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
let passed = 0;
let failed = reports.length === 0 ? 1 : 0; // no report at all: the run did not happen
let skipped = 0;
for (const f of reports) {
  const r = JSON.parse(readFileSync(new URL(f, dir), 'utf8'));
  passed += r.numPassedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  failed += r.numFailedTests;
  // A test file that failed to load has no test results of its own: count it as one failure.
  failed += r.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
