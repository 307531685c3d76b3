import { fileURLToPath } from 'node:url';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/** The longest files (by measurement), started first so a fresh clone, with no timings cached yet, ends on no long tail. */
const LONGEST_FIRST = [
  'tests/src/sharing/chaos.test.ts',
  'tests/src/cli/cli.test.ts',
  'tests/src/conformance/cluster.test.ts',
  'tests/src/reliability/resend.test.ts',
  'tests/src/conformance/cluster-node-loss.test.ts',
  'tests/src/reliability/public-commands.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['**/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests spawn the `tether` bin: rebuild its bundle first so none runs code older than the sources.
    globalSetup: [
      fileURLToPath(new URL('./services/cli/build.mjs', import.meta.url)),
      fileURLToPath(new URL('./tests/src/harness/openapi-tally.global.ts', import.meta.url)),
    ],
    // Every response from tether that a test sees is checked against /openapi.json (ajv), errors included.
    setupFiles: [
      fileURLToPath(new URL('./tests/src/harness/openapi-check.setup.ts', import.meta.url)),
      fileURLToPath(new URL('./tests/src/harness/test-shell.setup.ts', import.meta.url)),
    ],
    // One run for the whole repository. The integration files mostly wait on processes, sockets and
    // timers, so more files than cores run at once; each uses its own nats-server, port and tmux socket.
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
  },
});
