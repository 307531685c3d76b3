import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests spawn the `tether` bin: rebuild its bundle first so none runs code older than the sources.
    globalSetup: [fileURLToPath(new URL('./services/cli/build.mjs', import.meta.url))],
  },
});
