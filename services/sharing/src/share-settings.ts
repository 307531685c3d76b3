import { invalid, ShareSettings } from '@tether/contracts';

/** Share limits from the environment of `tether up`; a bad value stops the start with a clear error. */
export function shareSettingsFromEnv(env: NodeJS.ProcessEnv): ShareSettings {
  const num = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : Number(env[name]));
  const r = ShareSettings.safeParse({
    defaultTtlMs: num('TETHER_SHARE_TTL_MS'),
    minTtlMs: num('TETHER_SHARE_MIN_TTL_MS'),
    maxTtlMs: num('TETHER_SHARE_MAX_TTL_MS'),
    warnBeforeMs: num('TETHER_SHARE_WARN_MS'),
    maxPerTerminal: num('TETHER_SHARE_MAX_PER_TERMINAL'),
    approvalTimeoutMs: num('TETHER_APPROVAL_TIMEOUT_MS'),
  });
  if (!r.success) throw invalid('invalid share settings (TETHER_SHARE_* environment)', r.error);
  return r.data;
}
