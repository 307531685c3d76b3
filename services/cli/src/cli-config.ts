import { parseConfig, type TetherConfig } from '@tether/contracts/config';

let parsed: TetherConfig | undefined;

/**
 * The settings a CLI command reads (TETHER_URL, TETHER_TOKEN, TETHER_HOME, NATS_URL, …), parsed once per
 * process from the one schema; a bad one is INVALID_CONFIG. Only the config module loads, not every contract.
 */
export function cliConfig(): TetherConfig {
  parsed ??= parseConfig(process.env, { for: 'cli' }).config;
  return parsed;
}
