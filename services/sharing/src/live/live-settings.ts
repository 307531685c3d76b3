import type { LiveProvider, TetherConfig } from '@tether/contracts';

/** The TETHER_LIVE_* settings, as the live-session commands and worker use them. */
export interface LiveSettings {
  enabled: boolean;
  provider: LiveProvider;
  ttlMs: number;
  rwTtlMs: number;
  allowWeb: boolean;
  heartbeatMs: number;
  maxPerWorker: number;
  /** How long a tmate share may take to become ready (TETHER_SHARE_READY_MS): enabling waits this, and a bit. */
  readyMs: number;
}

export function liveSettings(config: TetherConfig): LiveSettings {
  return {
    enabled: config.TETHER_LIVE_ENABLED,
    provider: config.TETHER_LIVE_PROVIDER,
    ttlMs: config.TETHER_LIVE_TTL,
    rwTtlMs: config.TETHER_LIVE_RW_TTL,
    allowWeb: config.TETHER_LIVE_ALLOW_WEB,
    heartbeatMs: config.TETHER_LIVE_HEARTBEAT_MS,
    maxPerWorker: config.TETHER_LIVE_MAX_PER_WORKER,
    readyMs: config.TETHER_SHARE_READY_MS,
  };
}
