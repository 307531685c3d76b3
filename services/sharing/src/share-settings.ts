import type { ShareSettings, TetherConfig } from '@tether/contracts';

/** Share limits from the configuration of `tether up` (already validated, bounds included, at start). */
export function shareSettings(config: TetherConfig): ShareSettings {
  return {
    defaultTtlMs: config.TETHER_SHARE_TTL_MS,
    minTtlMs: config.TETHER_SHARE_MIN_TTL_MS,
    maxTtlMs: config.TETHER_SHARE_MAX_TTL_MS,
    warnBeforeMs: config.TETHER_SHARE_WARN_MS,
    maxPerTerminal: config.TETHER_SHARE_MAX_PER_TERMINAL,
    approvalTimeoutMs: config.TETHER_APPROVAL_TIMEOUT_MS,
  };
}
