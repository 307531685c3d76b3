import { configError, readConfig, settings, shownValue, type Env, type SettingName } from '@tether/contracts';
import type { Out } from '../output.ts';

/** A value as printed: a password never (see shownValue). */
const shown = (name: SettingName, v: unknown) =>
  v === undefined ? '(unset)' : shownValue(name, typeof v === 'string' ? v : JSON.stringify(v));

/**
 * `tether config [--json]`: every setting's effective value and where it came from (the environment or
 * the default); a bad value is marked invalid, and the command then fails with what to set instead.
 */
export async function configCmd(out: Out, _flags: { json?: boolean } = {}, env: Env = process.env): Promise<number> {
  const { config, sources, problems } = readConfig(env);
  const bad = new Map(problems.map((p) => [p.name, p]));
  const rows = (Object.keys(settings) as SettingName[]).map((name) => {
    const problem = bad.get(name);
    return {
      name,
      value: problem ? problem.value : shown(name, config[name]),
      source: problem ? ('invalid' as const) : sources[name],
      ...(settings[name].unit ? { unit: settings[name].unit } : {}),
      ...(problem ? { problem: problem.message } : {}),
    };
  });
  const withUnit = (r: { value: string; unit?: string; source: string }) =>
    r.unit && r.source !== 'invalid' ? `${r.value} ${r.unit}` : r.value;
  const nameW = Math.max(...rows.map((r) => r.name.length));
  const valueW = Math.min(48, Math.max(...rows.map((r) => withUnit(r).length)));
  const table = [
    `${'setting'.padEnd(nameW)}  ${'value'.padEnd(valueW)}  from`,
    ...rows.map((r) => `${r.name.padEnd(nameW)}  ${withUnit(r).padEnd(valueW)}  ${r.source}`),
  ].join('\n');
  out.print(table, { ok: problems.length === 0, settings: rows });
  if (problems.length > 0) throw configError(problems);
  return 0;
}
