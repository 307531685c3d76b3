import { z } from 'zod';
import { ERROR_CODES, TetherError } from './tether-error.ts';

export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const Issue = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() });

export const ErrorBody = z
  .object({
    code: ErrorCode,
    /** Machine-specific reason, e.g. LEASE_RELEASED, when code is NOT_ALLOWED. */
    reason: z.string().optional(),
    message: z.string(),
    issues: z.array(Issue).optional(),
  })
  .strict();
export type ErrorBody = z.infer<typeof ErrorBody>;

export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_COMMAND: 400,
  UNKNOWN_COMMAND: 404,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  NOT_ALLOWED: 409,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  INVALID_CONFIG: 500,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RECOVERING: 503,
  AMBIGUOUS_ID: 409,
};

export { TetherError };

export function issuesOf(err: z.ZodError): z.infer<typeof Issue>[] {
  return err.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: i.message,
  }));
}

/** INVALID_COMMAND for a zod failure: what was wrong, field by field, and the issues for machines. */
export function invalid(what: string, err: z.ZodError): TetherError {
  const detail = err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return new TetherError('INVALID_COMMAND', `${what}: ${detail}`, { issues: issuesOf(err) });
}

/** `data` (none: {}) as `schema` parses it, or INVALID_COMMAND: "invalid <what>: " and every issue. */
export function parseData<T extends z.ZodType>(schema: T, what: string, data: unknown): z.output<T> {
  const r = schema.safeParse(data ?? {});
  if (!r.success) throw invalid(`invalid ${what}`, r.error);
  return r.data;
}
