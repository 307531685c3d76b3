import fc from 'fast-check';

// Arbitraries from the JSON Schema of a zod contract (z.toJSONSchema), so new verbs and bodies are
// generated without a hand-written generator: the fuzz test and the invariant property test use them.

/** One to three keys no schema declares. */
export const extraKeys = fc.dictionary(
  fc.stringMatching(/^[a-zA-Z_$][a-zA-Z0-9_$]{0,10}$/),
  fc.jsonValue({ maxDepth: 2 }),
  {
    minKeys: 1,
    maxKeys: 3,
  },
);

/** The JSON Schema subset z.toJSONSchema produces for command data and API bodies. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema;
  $ref?: string;
}

/**
 * Values for a JSON Schema: valid ones, broken ones (wrong type, out of range, too long, not the
 * pattern, not in the enum), and near-valid objects where each field is valid or broken on its own,
 * with an extra key or a missing required one now and then. `known` offers existing ids for strings;
 * `field`, when it has an arbitrary for a property name, supplies that property's valid values
 * (e.g. references to entities that exist when the command runs).
 */
export function schemaArbs(
  resolve: (s: JsonSchema) => JsonSchema,
  known: string[],
  field: (name: string) => fc.Arbitrary<unknown> | undefined = () => undefined,
) {
  const wrongType = fc.constantFrom<unknown>(null, true, 0, -1, 1.5, '', 'x', [], {}, [1], { a: 1 });
  const valid = (s0: JsonSchema, depth = 0): fc.Arbitrary<unknown> => {
    const s = resolve(s0);
    if (s.const !== undefined) return fc.constant(s.const);
    if (s.enum) return fc.constantFrom(...s.enum);
    const alts = s.anyOf ?? s.oneOf;
    if (alts) return fc.oneof(...alts.map((a) => valid(a, depth)));
    switch (s.type) {
      case 'string': {
        const min = s.minLength ?? 0;
        const max = s.maxLength ?? Infinity;
        if (s.pattern) {
          const re = new RegExp(s.pattern);
          const ok = known.filter((k) => re.test(k) && k.length >= min && k.length <= max);
          const gen = fc.stringMatching(re).filter((x) => x.length >= min && x.length <= max);
          return ok.length > 0 ? fc.oneof(gen, fc.constantFrom(...ok)) : gen;
        }
        if (s.format === 'uri') return fc.webUrl().filter((x) => x.length >= min && x.length <= max);
        return fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max, 24)) });
      }
      case 'integer':
      case 'number': {
        const lo = Math.max(
          s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1e6),
          -(2 ** 31),
        );
        const hi = Math.min(
          s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1e6),
          2 ** 31 - 1,
        );
        return fc.oneof(fc.integer({ min: lo, max: Math.max(lo, hi) }), fc.constantFrom(lo, Math.max(lo, hi)));
      }
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return depth > 3 ? fc.constant([]) : fc.array(valid(s.items ?? {}, depth + 1), { maxLength: 3 });
      case 'object': {
        if (depth > 3) return fc.constant({});
        const props = Object.entries(s.properties ?? {});
        const required = new Set(s.required ?? []);
        return fc.record(Object.fromEntries(props.map(([k, p]) => [k, field(k) ?? valid(p, depth + 1)])), {
          requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)),
        });
      }
      default:
        return fc.jsonValue({ maxDepth: 1 });
    }
  };
  const broken = (s0: JsonSchema): fc.Arbitrary<unknown> => {
    const s = resolve(s0);
    const specific: fc.Arbitrary<unknown>[] = [wrongType];
    const alts = s.anyOf ?? s.oneOf;
    if (s.const !== undefined || s.enum) {
      const first = String((s.enum ?? [s.const])[0]);
      specific.push(
        fc.constantFrom(
          `${first}x`,
          first.toUpperCase() === first ? first.toLowerCase() : first.toUpperCase(),
          ` ${first}`,
          'other',
        ),
      );
    } else if (alts) {
      specific.push(fc.oneof(...alts.filter((a) => resolve(a).type !== 'null').map((a) => broken(a))));
    } else if (s.type === 'string') {
      if ((s.minLength ?? 0) > 0) specific.push(fc.constant(''));
      const max = s.maxLength ?? 1_024;
      specific.push(fc.integer({ min: max + 1, max: max + 300 }).map((n) => 'x'.repeat(n)));
      if (s.pattern) specific.push(fc.constantFrom('a.b', 'a b', '*', '>', 'é', 'a/b', '\u0000', 'tether.evt.x'));
    } else if (s.type === 'integer' || s.type === 'number') {
      const out: unknown[] = [1e308, -1e308, 2 ** 53 + 2, '1000', -0.5];
      if (s.minimum !== undefined) out.push(s.minimum - 1, s.minimum - 0.001, 0, -1);
      if (s.exclusiveMinimum !== undefined) out.push(s.exclusiveMinimum, s.exclusiveMinimum - 1);
      if (s.maximum !== undefined) out.push(s.maximum + 1, s.maximum + 0.5);
      if (s.exclusiveMaximum !== undefined) out.push(s.exclusiveMaximum);
      if (s.type === 'integer') out.push(1.5, (s.minimum ?? 0) + 0.5, 1_000.25);
      specific.push(fc.constantFrom(...out));
    } else if (s.type === 'object') {
      specific.push(extraKeys);
    }
    return fc.oneof(...specific);
  };
  /** Data for a verb or a body that is almost right: each field valid (2/3) or broken (1/3), plus extra or missing keys. */
  const near = (s0: JsonSchema): fc.Arbitrary<unknown> => {
    const s = resolve(s0);
    if (s.type !== 'object' || !s.properties) return fc.oneof(valid(s), broken(s));
    const props = Object.entries(s.properties);
    const required = new Set(s.required ?? []);
    const fields = fc.record(
      Object.fromEntries(
        props.map(([k, p]) => [
          k,
          fc.oneof({ weight: 2, arbitrary: valid(p, 1) }, { weight: 1, arbitrary: broken(p) }),
        ]),
      ),
      { requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)) },
    );
    const drop = required.size > 0 ? fc.option(fc.constantFrom(...required), { freq: 6 }) : fc.constant(null);
    return fc.tuple(fields, fc.option(extraKeys, { freq: 5 }), drop).map(([f, extra, gone]) => {
      const out: Record<string, unknown> = { ...f, ...(extra ?? {}) };
      if (gone) delete out[gone];
      return out;
    });
  };
  return { valid, broken, near };
}
