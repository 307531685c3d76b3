import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import { Iso } from './ids.ts';

/**
 * How the previous server under `tether up`'s supervisor ended. The supervisor hands it to the next
 * server as TETHER_PREVIOUS_EXIT (JSON), so that one can record the crash on the instance that crashed.
 */
export const PreviousExit = z.object({
  /** The crashed server's pid. */
  pid: z.number().int().positive(),
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** `heartbeat`: it stopped answering and the supervisor killed it; `exited`: it ended by itself (or a kill). */
  reason: z.enum(['exited', 'heartbeat']),
  at: Iso,
});
export type PreviousExit = z.infer<typeof PreviousExit>;

/** The environment variable that carries a PreviousExit to a restarted server. */
export const PREVIOUS_EXIT_ENV = 'TETHER_PREVIOUS_EXIT';

/** What a supervised server tells its supervisor over the IPC channel. */
export const SupervisorMessage = z.discriminatedUnion('type', [
  /** It listens: from now on a crash is restarted whatever its exit code. */
  z.object({ type: z.literal('ready'), pid: z.number().int() }),
  /** Sent every second from its event loop: a wedged loop stops them. */
  z.object({ type: z.literal('heartbeat') }),
  /** Its start failed with this error (it printed it): a bad setting or flag is not mended by a restart. */
  z.object({ type: z.literal('failed'), code: ErrorCode }),
]);
export type SupervisorMessage = z.infer<typeof SupervisorMessage>;
