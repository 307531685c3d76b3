import { resolve } from 'node:path';

/** Where tether keeps its data (TETHER_HOME, default ./.tether); its own module so clients need not load the store. */
export const dataDir = () => resolve(process.env.TETHER_HOME ?? '.tether');
