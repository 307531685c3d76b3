import { resolve } from 'node:path';
import { cliConfig } from './cli-config.ts';

/** Where tether keeps its data (TETHER_HOME, default ./.tether); its own module so clients need not load the store. */
export const dataDir = () => resolve(cliConfig().TETHER_HOME);
