#!/usr/bin/env node
// Runs the bundle in ../dist that `npm ci` builds (services/cli/build.mjs); no bundle is an error, not a fallback.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const message = `the tether CLI is not built (no ${fileURLToPath(entry)}); run \`npm run build:cli\` (or \`npm ci\`) in ${root}`;
  process.stderr.write(
    process.argv.includes('--json')
      ? `${JSON.stringify({ ok: false, error: { code: 'UNAVAILABLE', message } })}\n`
      : `error UNAVAILABLE: ${message}\n`,
  );
  process.exit(1);
}
// Node 22+ keeps compiled code between runs (a no-op on Node 20, which lacks it).
module.enableCompileCache?.();
// `tether --help | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
