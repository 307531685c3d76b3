import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** results.json: rates as integers, ratios and milliseconds to 3 decimals. */
export function writeResults(path: string, r: Record<string, unknown>) {
  const tidy = (_key: string, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v)
      ? Math.abs(v) >= 100
        ? Math.round(v)
        : Math.round(v * 1000) / 1000
      : v;
  writeFileSync(path, `${JSON.stringify(r, tidy, 2)}\n`);
}

export const RESULTS_FILE = fileURLToPath(new URL('../results.json', import.meta.url));

/** A section run alone (`npm run bench:<section>`): its figures replace theirs in results.json, the others stay. */
export function mergeResults(figures: Record<string, unknown>, path = RESULTS_FILE) {
  const before = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  writeResults(path, { ...before, ...figures });
}
