import { z } from 'zod';

// The kinds of setting (text, URL, duration, integer, port, flag): how each parses its variable's text
// and how it reads in the docs and in an error message.

/** Who reads a setting: `tether up` (server), the other CLI commands (cli), or both. */
export type SettingScope = 'server' | 'cli' | 'both';
export type Env = Record<string, string | undefined>;

export interface Setting<S extends z.ZodType = z.ZodType> {
  /** Parses the variable's text into the value tether uses, the default applied when unset. */
  schema: S;
  type: string;
  unit?: string;
  /** The default as people read it; undefined when unset means "not used". */
  default?: string;
  /** What a valid value looks like, for the error message. */
  expects: string;
  description: string;
  scope: SettingScope;
  /** A number: "" is an error rather than unset (Number("") would be 0). */
  numeric?: true;
  /** A password: `tether config` and INVALID_CONFIG show *** instead of its value. */
  secret?: true;
  /** A default that depends on other settings or the environment (TETHER_URL on TETHER_PORT). */
  derive?: (config: Record<string, unknown>, env: Env) => unknown;
}

const DURATION = /^(\d+)(ms|s|m|h)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** A duration as a duration setting is written (largest whole unit: 604800000 → "168h"), for messages. */
export function formatDuration(ms: number): string {
  const [unit, size] = Object.entries(UNIT_MS)
    .reverse()
    .find(([, size]) => ms % size === 0)!;
  return `${ms / size}${unit}`;
}

export const setting = <S extends z.ZodType>(s: Setting<S>) => s;

/** A string used as given; "" counts as unset. `default` is the value used when unset. */
export const text = (
  description: string,
  o: { scope: SettingScope; type?: string; default?: string; expects?: string },
) =>
  setting({
    schema: o.default === undefined ? z.string().optional() : z.string().default(o.default),
    type: o.type ?? 'string',
    default: o.default,
    expects: o.expects ?? 'any text',
    description,
    scope: o.scope,
  });

/** Text never shown: `tether config` and error messages print *** for it; "" counts as unset. */
export const secret = (description: string, o: { scope: SettingScope }) =>
  setting({
    schema: z.string().optional(),
    type: 'secret',
    expects: 'any text',
    description,
    scope: o.scope,
    secret: true,
  });

export const url = (description: string, o: { scope: SettingScope; default?: string }) =>
  setting({
    schema: z.url({ protocol: /^https?$/, error: 'not an http(s) URL' }).optional(),
    type: 'url',
    default: o.default,
    expects: 'an http(s) URL, e.g. http://127.0.0.1:8317',
    description,
    scope: o.scope,
  });

/** Milliseconds, or a whole number with a unit: 1500, 90s, 5m, 1h. */
export const duration = (
  ms: number,
  description: string,
  o: { scope?: SettingScope; min?: number; max?: number } = {},
) => {
  const min = o.min ?? 1;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  return setting({
    schema: z
      .string()
      .regex(DURATION, 'not a duration')
      .transform((v) => {
        const [, n, unit] = DURATION.exec(v)!;
        return Number(n) * UNIT_MS[(unit ?? 'ms') as keyof typeof UNIT_MS];
      })
      .pipe(
        z
          .number()
          .max(max, o.max === undefined ? 'too large' : `above the maximum of ${max} ms`)
          .min(min, `below the minimum of ${min} ms`),
      )
      .default(ms),
    type: 'duration',
    unit: 'ms',
    numeric: true,
    default: String(ms),
    expects: `a whole number of milliseconds (e.g. ${ms}) or one with a unit (90s, 5m, 1h), at least ${min} ms${o.max === undefined ? '' : ` and at most ${max} ms`}`,
    description,
    scope: o.scope ?? 'server',
  });
};

export const integer = (
  def: number,
  description: string,
  o: { scope?: SettingScope; min: number; max: number; unit?: string; type?: string },
) =>
  setting({
    schema: z
      .string()
      .regex(/^\d+$/, 'not a whole number')
      .transform(Number)
      .pipe(z.number().min(o.min, `below the minimum of ${o.min}`).max(o.max, `above the maximum of ${o.max}`))
      .default(def),
    type: o.type ?? 'integer',
    unit: o.unit,
    numeric: true,
    default: String(def),
    expects: `a whole number from ${o.min} to ${o.max}`,
    description,
    scope: o.scope ?? 'server',
  });

export const port = (def: number, description: string, o: { scope: SettingScope; min: number }) =>
  integer(def, description, { ...o, max: 65_535, type: 'port' });

export const flag = (description: string, scope: SettingScope, on = false) =>
  setting({
    schema: z
      .enum(['1', '0', 'true', 'false', 'yes', 'no'], { error: 'not a yes/no value' })
      .transform((v) => v === '1' || v === 'true' || v === 'yes')
      .default(on),
    type: 'flag',
    default: on ? '1' : '0',
    expects: '1 or 0 (true/false, yes/no)',
    description,
    scope,
  });
