import { TetherError } from '@tether/contracts/tether-error';
import type { Flags } from '../command-table.ts';
import type { Out } from '../output.ts';

/** Placeholder: the configuration helper's `tether config` replaces this file at merge. */
export async function configCmd(_out: Out, _flags: Flags): Promise<number> {
  throw new TetherError('UNAVAILABLE', 'tether config is not wired yet');
}
