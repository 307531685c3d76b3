import { secretSettings } from '@tether/contracts';

/**
 * The environment for a process tether starts: this one's, minus tether's secrets (a terminal's shell,
 * or a share's viewer, could read them with `env`) and minus `drop`.
 */
export function childEnv(drop: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const omit = new Set<string>([...secretSettings, ...drop]);
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !omit.has(k)) out[k] = v;
  return out;
}
