import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Setting, settings } from './settings.ts';

/** The README's settings table sits between these markers; `npm run config-docs` rewrites it. */
export const README_PATH = fileURLToPath(new URL('../../../README.md', import.meta.url));
const START = '<!-- settings:start (generated from contracts/src/config/settings.ts by `npm run config-docs`) -->';
const END = '<!-- settings:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');
const readers = { server: '`tether up`', cli: 'CLI commands', both: 'both' } as const;

/** A Markdown table of every setting (name, type, unit, default, who reads it, what it does), aligned as Biome formats it. */
export function renderSettingsTable(): string {
  const head = ['setting', 'type', 'unit', 'default', 'read by', 'what it does'];
  const rows = Object.entries(settings as Record<string, Setting>).map(([name, s]) =>
    [`\`${name}\``, s.type, s.unit ?? '', s.default ?? 'unset', readers[s.scope], s.description].map(cell),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [START, line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), END].join('\n');
}

/** The README with its settings table replaced by the current one. */
export function withSettingsTable(readme: string): string {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no settings table markers (${START} … ${END})`);
  return readme.slice(0, from) + renderSettingsTable() + readme.slice(to + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README_PATH, withSettingsTable(readFileSync(README_PATH, 'utf8')));
  console.log(`wrote the settings table in ${README_PATH}`);
}
