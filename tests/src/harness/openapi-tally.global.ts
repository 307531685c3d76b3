import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { Tally } from './checked-fetch.ts';

declare module 'vitest' {
  interface ProvidedContext {
    /** Where each test file leaves the tally of its responses checked against /openapi.json. */
    openapiTallyDir: string;
  }
}

/** vitest globalSetup: after the run, one line with every file's count of responses checked against /openapi.json. */
export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-openapi-tally-'));
  project.provide('openapiTallyDir', dir);
  return () => {
    const files = readdirSync(dir).map(
      (f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Tally & { file: string },
    );
    rmSync(dir, { recursive: true, force: true });
    const checked = files.reduce((n, f) => n + f.checked, 0);
    const bad = files.filter((f) => f.violations.length > 0);
    const violations = bad.reduce((n, f) => n + f.violations.length, 0);
    const ms = Math.round(files.reduce((n, f) => n + f.ms, 0));
    console.log(
      `openapi: ${checked} responses from tether in ${files.filter((f) => f.checked > 0).length} test files checked against /openapi.json (${ms} ms of checking), ${violations} did not match` +
        bad
          .map((f) => `\n  ${relative(process.cwd(), f.file)}: ${f.violations.length}, first: ${f.violations[0]}`)
          .join(''),
    );
  };
}
