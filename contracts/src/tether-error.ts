// Its own module, free of zod (errors.ts builds the schemas from these), so a short CLI command can
// throw it without loading zod, and nothing here imports back from errors.ts.

/** Every error code; errors.ts turns the list into the ErrorCode schema. */
export const ERROR_CODES = [
  'INVALID_COMMAND',
  'UNKNOWN_COMMAND',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'NOT_ALLOWED',
  'CONFLICT',
  'UNAVAILABLE',
  'INTERNAL',
  /** A setting (environment variable) has a bad value; tether does not start. */
  'INVALID_CONFIG',
  /** No credential, or one that is unknown, revoked or expired. */
  'UNAUTHENTICATED',
  /** The credential is valid, but its actor or role may not do this (the refusing rule is the reason). */
  'FORBIDDEN',
  /** A recovery run is restoring terminals: the command was held, and the run did not get live in time; retry. */
  'RECOVERING',
  /** An id prefix names more than one entity: the message lists them; give more characters. */
  'AMBIGUOUS_ID',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One thing wrong with a request, at a path of its data. */
export interface IssueData {
  path: (string | number)[];
  message: string;
}

/** The `error` of a rejected reply (schema: ErrorBody in errors.ts). */
export interface ErrorBodyData {
  code: ErrorCode;
  reason?: string;
  message: string;
  issues?: IssueData[];
}

/** A typed failure that crosses process boundaries as an ErrorBody. */
export class TetherError extends Error {
  readonly code: ErrorCode;
  readonly reason?: string;
  readonly issues?: IssueData[];
  constructor(code: ErrorCode, message: string, opts: { reason?: string; issues?: IssueData[]; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'TetherError';
    this.code = code;
    this.reason = opts.reason;
    this.issues = opts.issues;
  }
  toBody(): ErrorBodyData {
    return {
      code: this.code,
      message: this.message,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.issues ? { issues: this.issues } : {}),
    };
  }
}
