import { secretSettings } from '@tether/contracts';

/**
 * What tether itself was given by its supervisor or a tether terminal it runs in: never passed on (a
 * marker is set by whoever starts a process for an entity; a stray one would make it look like another's).
 */
export const TETHER_OWN_VARIABLES = [
  'TETHER_PREVIOUS_EXIT',
  'TETHER_SUPERVISED',
  'TETHER_OWNER',
  'TETHER_TERMINAL_ID',
  'TETHER_LANE_ID',
  'TETHER_SHARE_ID',
] as const;

/**
 * The environment for a process tether starts: this one's, minus tether's secrets (a terminal's shell,
 * or a share's viewer, could read them with `env`) and minus `drop`.
 */
export function childEnv(drop: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const omit = new Set<string>([...secretSettings, ...TETHER_OWN_VARIABLES, ...drop]);
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !omit.has(k)) out[k] = v;
  return out;
}
