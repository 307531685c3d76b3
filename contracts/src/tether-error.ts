import type { z } from 'zod';
import type { ErrorBody, ErrorCode, Issue } from './errors.ts';

// Its own module, free of zod at run time, so a short CLI command can throw it without loading zod.
type IssueData = z.infer<typeof Issue>;

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
  toBody(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.issues ? { issues: this.issues } : {}),
    };
  }
}
