import { TetherError } from '@tether/contracts';
import { JetStreamApiError } from '@nats-io/jetstream';
import { WrongLastSequenceError } from '../ports/event-log.ts';
import { KvRevisionError } from '../ports/key-value.ts';

/** The JetStream API error codes tether acts on (nats-server's errors.json), named once. */
export const JsErr = {
  ConsumerNotFound: 10014,
  NoMessageFound: 10037,
  /** "stream name already in use with a different configuration": the stream exists with other settings. */
  StreamNameInUse: 10058,
  StreamNotFound: 10059,
  /** The expected last sequence (of the stream or of a subject) did not match: an OCC conflict. */
  WrongLastSequence: 10071,
} as const;
export type JsErrCode = (typeof JsErr)[keyof typeof JsErr];

/** Whether `err` is the JetStream API's answer with `code`. */
export const isJsErr = (err: unknown, code: JsErrCode): err is JetStreamApiError =>
  err instanceof JetStreamApiError && err.code === code;

export const isConsumerNotFound = (err: unknown) => isJsErr(err, JsErr.ConsumerNotFound);
export const isNoMessageFound = (err: unknown) => isJsErr(err, JsErr.NoMessageFound);
export const isStreamNameInUse = (err: unknown) => isJsErr(err, JsErr.StreamNameInUse);
export const isStreamNotFound = (err: unknown) => isJsErr(err, JsErr.StreamNotFound);
export const isWrongLastSequence = (err: unknown) => isJsErr(err, JsErr.WrongLastSequence);

/**
 * A failure of a JetStream request as a TetherError: an API refusal is INTERNAL (a bug or a foreign
 * config), while timeouts, closed connections and "no responders" mean `service` cannot be reached now.
 */
export function toStoreError(err: unknown, what: string, service = 'event store'): Error {
  if (err instanceof TetherError || err instanceof WrongLastSequenceError || err instanceof KvRevisionError) return err;
  if (err instanceof JetStreamApiError)
    return new TetherError('INTERNAL', `${service} ${what} failed: ${err.message} (code ${err.code})`, {
      cause: err,
    });
  return new TetherError(
    'UNAVAILABLE',
    `${service} unavailable (${what}): ${(err as Error)?.message ?? String(err)}; retry shortly`,
    { cause: err },
  );
}

/** Runs `fn`, turning its failure into a TetherError (see toStoreError). */
export async function storeErrorsOf<T>(fn: () => Promise<T>, what: string, service?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStoreError(err, what, service);
  }
}
