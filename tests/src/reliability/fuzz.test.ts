import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { connect } from '@nats-io/transport-node';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { connect as tcpConnect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CREDENTIAL_HEADER,
  applicationCommands,
  CommandAccepted,
  CommandRejected,
  CommandReply,
  CommandRequest,
  EntityName,
  type ErrorCode,
  EventEnvelope,
  HTTP_STATUS,
  Token,
  Verb,
  entityContracts,
  subjects,
  type EntityContract,
  type StoredEvent,
  type VerbContract,
} from '@tether/contracts';
import { JetStreamEventStore } from '@tether/runtime';
import { NatsServer, TetherProcess, uid } from '../harness/index.ts';
import { extraKeys, schemaArbs, type JsonSchema } from '../harness/schema-arbitraries.ts';
import { postCommand } from './helpers.ts';

/**
 * (d) A few thousand random and malformed payloads on every command subject and every HTTP
 * endpoint: each is answered in the contract's shape with a clear code (never INTERNAL, never a
 * 5xx), nothing crashes, and every event in the stream is accounted for by an accepted command.
 *
 * Inputs come from fc.sample with a fixed seed (FUZZ_SEED overrides it, FUZZ_SCALE scales the
 * counts, FUZZ_DUMP=<file> writes every failure, not just the first ones), so a failure names the
 * exact request and reproduces. An oracle decides, from the bytes
 * actually sent, which codes a request may get; ok:true is allowed only for a valid command, which
 * the test re-validates against the verb's zod schema. Near-valid data is generated from each
 * verb's own schema (z.toJSONSchema), so new entities and verbs are fuzzed without editing this file.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_611);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

/** Commands that span entities (Dispatcher application commands), by entity and verb. */
const APPLICATION: Record<string, Record<string, VerbContract>> = applicationCommands;
const contracts: Record<string, EntityContract> = entityContracts;
const VERBS = [
  ...Object.entries(contracts).flatMap(([entity, c]) => Object.keys(c).map((verb) => ({ entity, verb }))),
  ...Object.entries(APPLICATION).flatMap(([entity, c]) => Object.keys(c).map((verb) => ({ entity, verb }))),
];
const ENTITIES = Object.keys(contracts);
const ALL_VERB_NAMES = [...new Set(VERBS.map((v) => v.verb))];
const PROTO_NAMES = [
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__proto__',
  '__defineGetter__',
  '__lookupSetter__',
];
/** Codes a well-formed command may still get, from the entities' state or an id reused elsewhere. */
const STATEFUL: ErrorCode[] = ['NOT_FOUND', 'ALREADY_EXISTS', 'NOT_ALLOWED', 'CONFLICT'];
/** A path segment longer than a Token may be refused by the router itself (still INVALID_COMMAND). */
const MAX_TOKEN = 128;
const BODY_LIMIT = 1024 * 1024;
/** The one workspace `tether up` is given: a temp dir, so an accepted lane.create never touches a real repository. */
const WORKSPACE = 'fuzzws';
const HARNESS_ID = 'cliproxy';

const utf8 = new TextEncoder();
const decode = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(b);
const trunc = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
const show = (b: Uint8Array) => trunc(JSON.stringify(decode(b)));
const issuesText = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

// ---------------------------------------------------------------------------------------------
// Oracle

function lookup(entity: string, verb: string): { v: VerbContract; app: boolean } | undefined {
  if (!EntityName.safeParse(entity).success || !Verb.safeParse(verb).success) return undefined;
  if (Object.hasOwn(APPLICATION, entity) && Object.hasOwn(APPLICATION[entity]!, verb))
    return { v: APPLICATION[entity]![verb]!, app: true };
  if (!Object.hasOwn(contracts, entity)) return undefined;
  const c = contracts[entity]!;
  return Object.hasOwn(c, verb) ? { v: c[verb]!, app: false } : undefined;
}

/** The codes the static checks (names, envelope, verb data, entityId) allow; empty = a valid command. */
function staticCodes(entity: string, verb: string, body: unknown): Set<ErrorCode> {
  const codes = new Set<ErrorCode>();
  const found = lookup(entity, verb);
  if (!found) codes.add('UNKNOWN_COMMAND');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return codes.add('INVALID_COMMAND');
  const req = CommandRequest.safeParse(body);
  if (!req.success) return codes.add('INVALID_COMMAND');
  if (
    found &&
    (!found.v.data.safeParse(req.data.data).success ||
      (!req.data.entityId && (found.app ? !!found.v.needsEntityId : !found.v.creates)))
  )
    codes.add('INVALID_COMMAND');
  return codes;
}

/**
 * The front door (NATS and HTTP) refuses, before it looks at the data, a verb only tether itself
 * sends. (An actor in the envelope, even the system, is ignored: the credential says who.)
 */
function frontDoorRefuses(entity: string, verb: string, body: unknown): boolean {
  const found = lookup(entity, verb);
  const req = CommandRequest.safeParse(body);
  if (!found || !req.success) return false;
  return !found.app && !!found.v.internal;
}

/** What the server may see as the body: candidate values, and whether its parser may refuse it outright. */
interface Seen {
  bodies: unknown[];
  parserRejects: boolean;
  /** Refused for its size: HTTP 413 rather than HTTP_STATUS[code]. */
  oversize?: boolean;
}

function natsSeen(payload: Uint8Array): Seen {
  const text = decode(payload);
  if (text.trim() === '') return { bodies: [{}], parserRejects: false };
  try {
    return { bodies: [JSON.parse(text)], parserRejects: false };
  } catch {
    return { bodies: [], parserRejects: true };
  }
}

/** Mirrors Fastify's body parsing (JSON incl. BOM/charset params, text/plain, 415 for the rest) and the header merge. */
function httpSeen(contentType: string | undefined, payload: Uint8Array, headers: Record<string, string>): Seen {
  const merge = (b: unknown) => {
    const body = b ?? {};
    if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
    return {
      ...(headers['idempotency-key'] ? { id: headers['idempotency-key'] } : {}),
      ...(headers['x-correlation-id'] ? { correlationId: headers['x-correlation-id'] } : {}),
      ...body,
    };
  };
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  const text = decode(payload);
  if (media === 'application/json') {
    if (payload.length > BODY_LIMIT) return { bodies: [], parserRejects: true, oversize: true };
    const out: Seen = { bodies: [], parserRejects: payload.length === 0 || /__proto__|constructor/.test(text) };
    for (const t of new Set([text, text.replace(/^\uFEFF/, '')])) {
      try {
        out.bodies.push(merge(JSON.parse(t)));
      } catch {
        out.parserRejects = true;
      }
    }
    return out;
  }
  if (media === 'text/plain') {
    if (payload.length > BODY_LIMIT) return { bodies: [], parserRejects: true, oversize: true };
    return { bodies: payload.length === 0 ? [text, merge(undefined)] : [text], parserRejects: payload.length === 0 };
  }
  // Any other media type (or none) with a body is an unsupported media type; an empty body is "no body".
  return payload.length === 0
    ? { bodies: [merge(undefined)], parserRejects: true }
    : { bodies: [], parserRejects: true };
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping

interface Accepted {
  label: string;
  entity: string;
  entityId: string;
  streamSeq: number;
  correlationId: string;
  app: boolean;
}
const tally = {
  nats: 0,
  http: 0,
  byCode: new Map<string, number>(),
  /** commandId → the accepted (non-duplicate) command. */
  accepted: new Map<string, Accepted>(),
  duplicates: 0,
  /** Requests that were valid commands by the oracle, whatever the entities' state made of them. */
  wellFormed: 0,
  /** "entity:id" of everything an accepted command created or touched. */
  touched: new Set<string>(),
  /** Correlation ids of control-plane requests answered 2xx: events they caused are expected. */
  controlPlaneOk: new Map<string, string>(),
  controlPlaneFailed: new Map<string, string>(),
  failures: [] as string[],
};
const bump = (code: string) => tally.byCode.set(code, (tally.byCode.get(code) ?? 0) + 1);

function failuresOf(from: number) {
  const f = tally.failures.slice(from);
  return f.length === 0 ? [] : [`${f.length} failing request(s) (FUZZ_SEED=${SEED}); first ones:`, ...f.slice(0, 12)];
}

/** Checks one command reply (NATS or HTTP) against the oracle; records what is wrong and returns false then. */
function judgeCommand(
  label: string,
  entity: string,
  verb: string,
  seen: Seen,
  reply: unknown,
  status?: number,
): boolean {
  const fail = (why: string) => {
    tally.failures.push(
      `${label}\n    ${why}\n    reply: ${trunc(JSON.stringify(reply))}${status ? ` (HTTP ${status})` : ''}`,
    );
    return false;
  };
  const parsed = CommandReply.safeParse(reply);
  if (!parsed.success) return fail(`the reply is not a CommandReply: ${issuesText(parsed.error)}`);
  const r = parsed.data;
  const valid = seen.bodies.filter((b) => staticCodes(entity, verb, b).size === 0);
  if (valid.length > 0) tally.wellFormed++;
  if (r.ok) {
    bump('ok');
    if (valid.length === 0) return fail('accepted a command that is not valid');
    // Re-validate what was sent against the verb's own schema, and the reply against it.
    const req = CommandRequest.parse(valid[0]);
    const { v, app } = lookup(entity, verb)!;
    if (!v.data.safeParse(req.data).success) return fail('accepted data the verb schema refuses');
    if (req.id && r.commandId !== req.id) return fail(`reply commandId ${r.commandId}, sent id ${req.id}`);
    if (!app && r.entity !== entity) return fail(`reply for entity ${r.entity}, sent to ${entity}`);
    if (!app && req.entityId && r.entityId !== req.entityId)
      return fail(`reply entityId ${r.entityId}, sent ${req.entityId}`);
    if (status !== undefined && status !== (!app && v.creates ? 201 : 200))
      return fail(`status ${status} for an accepted ${verb}`);
    tally.touched.add(`${r.entity}:${r.entityId}`);
    if (r.duplicate) tally.duplicates++;
    else if (tally.accepted.has(r.commandId)) return fail(`command ${r.commandId} accepted twice as new`);
    else
      tally.accepted.set(r.commandId, {
        label,
        entity: r.entity,
        entityId: r.entityId,
        streamSeq: r.streamSeq,
        correlationId: r.correlationId,
        app,
      });
    return true;
  }
  const { code, message } = r.error;
  bump(code);
  if (message.trim() === '') return fail('empty error message');
  if (status !== undefined) {
    const want = seen.oversize ? 413 : HTTP_STATUS[code];
    if (status !== want) return fail(`status ${status}, but ${code} is HTTP ${want}`);
  }
  const allowed = new Set<ErrorCode>();
  if (!lookup(entity, verb)) allowed.add('UNKNOWN_COMMAND'); // whatever the body, an unknown name may be said first
  if (seen.parserRejects) allowed.add('INVALID_COMMAND');
  for (const b of seen.bodies) for (const c of staticCodes(entity, verb, b)) allowed.add(c);
  if (valid.length > 0) for (const c of STATEFUL) allowed.add(c);
  if (seen.bodies.some((b) => frontDoorRefuses(entity, verb, b))) allowed.add('NOT_ALLOWED');
  if (!allowed.has(code))
    return fail(`code ${code}, expected one of ${[...allowed].join(', ') || '(ok:true)'}: ${trunc(message)}`);
  return true;
}

/** Checks a non-command HTTP answer: 2xx where `ok` approves, or a contract rejection with an allowed code. */
function judgeHttp(
  label: string,
  status: number,
  body: unknown,
  allowed: Set<ErrorCode> | 'any',
  ok?: (b: unknown) => boolean,
  must2xx = false,
): boolean {
  const fail = (why: string) => {
    tally.failures.push(`${label}\n    ${why}\n    reply: ${trunc(JSON.stringify(body))} (HTTP ${status})`);
    return false;
  };
  if (status >= 200 && status < 300) {
    bump('ok');
    if (!ok) return fail('answered 2xx where an error was expected');
    if (!ok(body)) return fail(`a ${status} with an unexpected body`);
    return true;
  }
  const parsed = CommandRejected.safeParse(body);
  if (!parsed.success) return fail(`not {ok:false, error:{code, message}}: ${issuesText(parsed.error)}`);
  const { code, message } = parsed.data.error;
  bump(code);
  if (message.trim() === '') return fail('empty error message');
  if (status !== HTTP_STATUS[code]) return fail(`status ${status}, but ${code} is HTTP ${HTTP_STATUS[code]}`);
  if (code === 'INTERNAL') return fail(`INTERNAL: ${trunc(message)}`);
  if (must2xx) return fail(`expected 2xx, got ${code}: ${trunc(message)}`);
  if (allowed !== 'any' && !allowed.has(code))
    return fail(`code ${code}, expected one of ${[...allowed].join(', ') || '(2xx)'}: ${trunc(message)}`);
  return false;
}

/** Runs fn over items with a bounded number in flight. */
async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** The fuzzed tether's owner token. */
let ownerToken = '';
/** NATS headers carrying the owner's token (what is fuzzed is the payload, not who sends it). */
const credentialHeaders = () => {
  const h = natsHeaders();
  h.set(CREDENTIAL_HEADER, ownerToken);
  return h;
};

/** fetch that always yields a status and a parsed JSON body, or records why it could not. */
async function fetchJson(
  label: string,
  url: string,
  init: RequestInit,
  textOk = false,
): Promise<{ status: number; body: unknown } | undefined> {
  try {
    // Every call is the owner's (what is fuzzed is the input, not who sends it; authentication has its own tests).
    const headers = { authorization: `Bearer ${ownerToken}`, ...(init.headers as Record<string, string> | undefined) };
    const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(45_000) });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      // A route documented as text (e.g. /metrics) may answer text when it succeeds; errors are always JSON.
      if (textOk && res.ok && res.headers.get('content-type')?.startsWith('text/plain'))
        return { status: res.status, body: { text } };
      tally.failures.push(`${label}\n    the body is not JSON (HTTP ${res.status}): ${trunc(text)}`);
    }
  } catch (err) {
    tally.failures.push(`${label}\n    no answer: ${String(err)}`);
  }
  return undefined;
}

/**
 * POSTs a body over the limit the way RFC 9112 §9.5 asks of a client: send in chunks, stop once the
 * server has answered, read the answer. (fetch fails with EPIPE when the server answers 413 and
 * closes while a multi-megabyte body is still being written, losing the answer it did send.)
 */
async function postOversize(
  base: string,
  path: string,
  contentType: string | undefined,
  body: Uint8Array,
  chunked: boolean,
): Promise<{ status: number; text: string }> {
  const url = new URL(base);
  const sock = tcpConnect({ host: url.hostname, port: Number(url.port) });
  const received: Buffer[] = [];
  let answered = false;
  const done = new Promise<void>((resolve, reject) => {
    sock.on('data', (d) => {
      answered = true;
      received.push(d);
    });
    sock.on('close', () => resolve());
    sock.on('error', (err) => (answered ? resolve() : reject(err)));
    sock.setTimeout(15_000, () => sock.destroy(new Error('no answer in 15 s')));
  });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  /** Gives the server up to `ms` to answer before sending more; writing into a socket it has reset would lose its answer. */
  const answerWithin = (ms: number) =>
    new Promise<void>((r) => {
      if (answered || sock.destroyed) return r();
      const t = setTimeout(r, ms);
      const done = () => {
        clearTimeout(t);
        r();
      };
      sock.once('data', done);
      sock.once('close', done);
    });
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${url.host}`,
    `Authorization: Bearer ${ownerToken}`,
    ...(contentType ? [`Content-Type: ${contentType}`] : []),
    chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`,
    'Connection: close',
    '',
    '',
  ];
  sock.write(head.join('\r\n'));
  await answerWithin(1_000); // a declared length over the limit, or an unsupported type, is refused before the body
  let sent = 0;
  for (let at = 0; at < body.length && !answered && !sock.destroyed; at += 64 * 1024) {
    const part = body.subarray(at, at + 64 * 1024);
    const ok = sock.write(
      chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part,
    );
    if (!ok)
      await new Promise<void>((r) => {
        sock.once('drain', r);
        sock.once('close', r);
      });
    const before = sent;
    sent += part.length;
    if (before <= BODY_LIMIT && sent > BODY_LIMIT)
      await answerWithin(2_000); // just past the limit: the server should answer now
    else await new Promise((r) => setImmediate(r));
  }
  if (!answered && !sock.destroyed && chunked) sock.write('0\r\n\r\n');
  await done;
  const raw = Buffer.concat(received).toString('utf8');
  const split = raw.indexOf('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  let text = split < 0 ? '' : raw.slice(split + 4);
  if (/\r\ntransfer-encoding: chunked/i.test(raw.slice(0, split))) {
    let out = '';
    for (let rest = text; ; ) {
      const eol = rest.indexOf('\r\n');
      const n = parseInt(rest.slice(0, eol), 16);
      if (!(n > 0)) break;
      out += rest.slice(eol + 2, eol + 2 + n);
      rest = rest.slice(eol + 2 + n + 2);
    }
    text = out;
  }
  return { status, text };
}

// ---------------------------------------------------------------------------------------------
// Generators

const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    'a.b',
    'a b',
    '*',
    '>',
    'tether.evt.lease.x',
    '../etc/passwd',
    '\u0000',
    'é',
    '💥',
    '\n',
    'x'.repeat(MAX_TOKEN + 1),
    'x'.repeat(5_000),
    ...PROTO_NAMES,
  ),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);
const shortToken = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
/** Mostly valid tokens (short, so ids repeat and exercise duplicates and conflicts), sometimes not. */
const tokenish = fc.oneof({ weight: 3, arbitrary: shortToken }, { weight: 2, arbitrary: weird });
const validActor = fc.record({
  kind: fc.constantFrom('human', 'ai', 'system', 'service'),
  id: fc.string({ minLength: 1, maxLength: 8 }),
});
const actorArb: fc.Arbitrary<unknown> = fc.oneof(
  validActor,
  fc.record(
    {
      kind: fc.oneof(fc.constantFrom('robot', 'HUMAN', '', 'admin'), weird),
      id: fc.oneof(fc.constant(''), fc.constant('x'.repeat(257)), weird),
    },
    { requiredKeys: [] },
  ),
  fc.record({ kind: fc.constant('human'), id: fc.constant('ann'), role: fc.jsonValue() }),
  weird,
);
function dataSchema(entity: string, verb: string): JsonSchema {
  const found = lookup(entity, verb);
  if (!found) return {};
  try {
    return z.toJSONSchema(found.v.data, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return {};
  }
}

/** Objects shaped like a command, every field optional and mostly ill-typed. */
const commandShaped = (ids: fc.Arbitrary<string>) =>
  fc
    .tuple(
      fc.record(
        {
          id: tokenish,
          entityId: fc.oneof(ids, weird),
          data: fc.oneof(weird, fc.dictionary(fc.string({ maxLength: 8 }), weird, { maxKeys: 4 })),
          actor: actorArb,
          correlationId: tokenish,
          causationId: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constant('c'.repeat(257)), weird),
        },
        { requiredKeys: [] },
      ),
      fc.option(extraKeys, { freq: 3 }),
    )
    .map(([o, extra]) => ({ ...o, ...(extra ?? {}) }));

/** A command whose envelope is mostly right and whose data is near-valid for the verb. */
const nearValidCommand = (entity: string, verb: string, ids: fc.Arbitrary<string>, known: string[]) =>
  fc
    .record(
      {
        entityId: fc.oneof(
          { weight: 6, arbitrary: ids },
          { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{100,128}$/) },
          { weight: 2, arbitrary: weird },
        ),
        data: schemaArbs((s) => s, known).near(dataSchema(entity, verb)),
        id: fc.oneof(fc.uuid(), tokenish),
        actor: fc.oneof({ weight: 2, arbitrary: validActor }, { weight: 1, arbitrary: actorArb }),
      },
      { requiredKeys: ['data'] },
    )
    .map((o) => o as Record<string, unknown>);

/** A valid command (rare among the payloads): a correct envelope and schema-valid data for the verb. */
const validCommand = (entity: string, verb: string, ids: fc.Arbitrary<string>, known: string[]) =>
  fc.record(
    {
      entityId: ids,
      data: schemaArbs((s) => s, known).valid(dataSchema(entity, verb)),
      id: fc.uuid(),
      actor: validActor,
      correlationId: shortToken,
    },
    { requiredKeys: ['data'] },
  );

/** Broken JSON texts: truncated, trailing garbage, JSON5-isms, lone tokens. */
const brokenJson = (entity: string, verb: string, ids: fc.Arbitrary<string>, known: string[]) =>
  fc.oneof(
    fc.constantFrom(
      '{',
      '}',
      '{"id":',
      '{"data":{}',
      'nul',
      'tru',
      '{}}',
      '{"a":1,}',
      "{'data':{}}",
      '[',
      '"',
      '\\u0000',
      'NaN',
      'Infinity',
      '-',
      '1e999',
      '{"data":{"holder":"x"}}garbage',
      '\uFEFF{}',
      ' ',
      '\n\t',
      '',
      '{"data":{}} {"data":{}}',
      '/*c*/{}',
      '{"data":{"ttlMs":0x10}}',
    ),
    fc.tuple(nearValidCommand(entity, verb, ids, known), fc.nat()).map(([c, k]) => {
      const t = JSON.stringify(c);
      return t.slice(0, k % Math.max(1, t.length));
    }),
  );

/** Deeply nested documents, to look for stack overflows in parsing and validation. */
const deepJson = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('array', 'data', 'actor'))
  .map(([n, where]) =>
    where === 'array'
      ? '['.repeat(n) + ']'.repeat(n)
      : `{"entityId":"x","${where}":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`,
  );

interface Payload {
  kind: string;
  bytes: Uint8Array;
}

function payloadArb(entity: string, verb: string, ids: fc.Arbitrary<string>, known: string[]): fc.Arbitrary<Payload> {
  const text =
    (kind: string) =>
    (s: string): Payload => ({ kind, bytes: utf8.encode(s) });
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes): Payload => ({ kind: 'bytes', bytes })) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(text('string')) },
    { weight: 2, arbitrary: brokenJson(entity, verb, ids, known).map(text('broken-json')) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => text('json-value')(JSON.stringify(v) ?? 'null')) },
    { weight: 3, arbitrary: commandShaped(ids).map((v) => text('command-shaped')(JSON.stringify(v))) },
    {
      weight: 6,
      arbitrary: nearValidCommand(entity, verb, ids, known).map((v) => text('near-valid')(JSON.stringify(v))),
    },
    { weight: 1, arbitrary: deepJson.map(text('deep')) },
    { weight: 1, arbitrary: validCommand(entity, verb, ids, known).map((v) => text('valid')(JSON.stringify(v))) },
  );
}

/** Names for entities and verbs: prototype keys, near-misses, unicode, long. */
const nameLike = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_NAMES) },
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,15}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Lease',
      'LEASE',
      'lease_',
      '_lease',
      '0lease',
      'lease-x',
      'leases',
      'l\u0435ase',
      'null',
      'undefined',
      'NaN',
      '-',
      '_',
      '%',
      '"',
      "'",
      '\\',
      '{}',
      '[]',
      'créer',
      '日本',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.integer({ min: 33, max: 300 }).map((n) => 'a'.repeat(n)) },
);
/** A NATS subject token: no separators, wildcards, whitespace or control characters. */
const subjectToken = nameLike.filter(
  (s) => s.length > 0 && [...s].every((c) => c.codePointAt(0)! > 0x20 && c !== '\u007f' && !/[\s.*>]/u.test(c)),
);
/** A URL path segment that the URL parser keeps as it is (no dot segments, not empty). */
const pathToken = nameLike.filter((s) => s !== '' && s !== '.' && s !== '..');
/** Header values: tokens, odd printable strings, over-long ones. */
const headerValue = fc.oneof(
  shortToken,
  fc.stringMatching(/^[!-~]{1,20}$/),
  fc.constantFrom('a'.repeat(MAX_TOKEN + 1), 'h'.repeat(300), 'a.b', '*', '>'),
);

// ---------------------------------------------------------------------------------------------

describe('(d) fuzzing every command subject and endpoint', () => {
  let nats: NatsServer;
  let tether: TetherProcess;
  let nc: NatsConnection;
  let store: JetStreamEventStore;
  let before = 0;
  let workspaceDir = '';
  /** Leases that exist before the fuzz starts: three held (one with a 128-char id), one released. */
  const held = [uid('fz-a'), `fz-long-${'L'.repeat(MAX_TOKEN - 8)}`, uid('fz-b')];
  const released = uid('fz-rel');
  const existing = () => [...held, released, HARNESS_ID, WORKSPACE];
  /** Entity ids for commands to `entity`: mostly ones that exist (for that entity), else short tokens. */
  const idsFor = (entity: string): fc.Arbitrary<string> => {
    const there = entity === 'lease' ? [...held, released] : entity === 'harness' ? [HARNESS_ID] : [];
    return there.length > 0
      ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...there) }, { weight: 2, arbitrary: shortToken })
      : fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...existing()) }, { weight: 3, arbitrary: shortToken });
  };
  /** Every event after the fuzz started, read one by one (direct get), filled by the accounting test. */
  let written: StoredEvent[] = [];
  const started = Date.now();

  beforeAll(async () => {
    nats = await NatsServer.start();
    // Lanes are worktrees of a workspace; give tether a temp dir that is not a repository, so an
    // accepted lane.create only ever fails to provision (and never adds a worktree to this checkout).
    workspaceDir = mkdtempSync(join(tmpdir(), 'tether-fuzz-ws-'));
    tether = await TetherProcess.start({ NATS_URL: nats.url, TETHER_WORKSPACES: `${WORKSPACE}=${workspaceDir}` });
    ownerToken = tether.token;
    nc = await connect({ servers: nats.url, name: 'fuzz' });
    store = await JetStreamEventStore.open(nats.url);
    for (const id of [...held, released]) {
      expect(
        await postCommand(tether, 'lease', 'create', { entityId: id, data: { holder: 'fuzz', ttlMs: 86_400_000 } }),
      ).toMatchObject({ ok: true });
    }
    expect(
      await postCommand(tether, 'lease', 'release', { entityId: released, data: { reason: 'fuzz' } }),
    ).toMatchObject({ ok: true });
    before = await store.lastStreamSeq();
  });

  afterAll(async () => {
    const codes = [...tally.byCode]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([c, n]) => `${c}=${n}`)
      .join(' ');
    console.log(
      `fuzz (seed ${SEED}): ${tally.nats + tally.http} requests (nats ${tally.nats}, http ${tally.http}) over ${VERBS.length} verbs in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${codes}; ${tally.wellFormed} well-formed commands, accepted ${tally.accepted.size} new + ${tally.duplicates} duplicate; ` +
        `${written.length} events written; failures ${tally.failures.length}`,
    );
    if (process.env.FUZZ_DUMP) writeFileSync(process.env.FUZZ_DUMP, tally.failures.join('\n'));
    await nc?.close();
    await store?.close();
    await tether?.kill();
    await nats?.dispose();
    if (workspaceDir) rmSync(workspaceDir, { recursive: true, force: true });
  });

  it('NATS: every tether.cmd.<entity>.<verb> and unknown subjects', async () => {
    const from = tally.failures.length;
    const cases: { subject: string; entity: string; verb: string; payload: Payload }[] = [];
    const perVerb = runs(Math.max(30, Math.round(2_400 / VERBS.length)));
    VERBS.forEach(({ entity, verb }, k) => {
      for (const payload of fc.sample(payloadArb(entity, verb, idsFor(entity), existing()), {
        seed: SEED + k,
        numRuns: perVerb,
      }))
        cases.push({ subject: subjects.command(entity, verb), entity, verb, payload });
    });
    const randomSubject = fc.oneof(
      fc.tuple(subjectToken, fc.constantFrom(...ALL_VERB_NAMES)).map(([e, v]) => [e, v]),
      fc.tuple(fc.constantFrom(...ENTITIES), subjectToken).map(([e, v]) => [e, v]),
      fc.tuple(fc.constantFrom(...ENTITIES), subjectToken, subjectToken).map(([e, a, b]) => [e, `${a}.${b}`]),
      fc.tuple(fc.constantFrom(...VERBS), subjectToken).map(([{ entity, verb }, x]) => [entity, `${verb}.${x}`]),
      fc.tuple(subjectToken, subjectToken).map(([e, v]) => [e, v]),
      fc.constantFrom(...ENTITIES, 'x', 'constructor').map((e) => [e, undefined]),
    );
    const subjectCases = fc.sample(
      fc.tuple(randomSubject, payloadArb('lease', 'create', idsFor('lease'), existing())),
      { seed: SEED + 1_000, numRuns: runs(700) },
    );
    for (const [[entity, verb], payload] of subjectCases) {
      cases.push({
        subject: verb === undefined ? `tether.cmd.${entity}` : `tether.cmd.${entity}.${verb}`,
        entity: entity!,
        verb: verb ?? '',
        payload,
      });
    }
    // A few large payloads, still under the server's max_payload.
    for (const [i, { entity, verb }] of VERBS.filter((_, i) => i % 4 === 0).entries()) {
      const big = JSON.stringify({
        entityId: held[0],
        data: { holder: 'h'.repeat(700_000 + i), reason: 'r'.repeat(1_000), ttlMs: 1_000 },
      });
      cases.push({
        subject: subjects.command(entity, verb),
        entity,
        verb,
        payload: { kind: 'large', bytes: utf8.encode(big) },
      });
    }
    // Resend every 20th request byte for byte: a valid one must come back as a duplicate, not a second event.
    cases.push(
      ...cases
        .filter((_, i) => i % 20 === 7)
        .map((c) => ({ ...c, payload: { ...c.payload, kind: `${c.payload.kind} (resent)` } })),
    );

    await pool(cases, 24, async ({ subject, entity, verb, payload }) => {
      tally.nats++;
      const label = `NATS ${subject} [${payload.kind}] ${show(payload.bytes)}`;
      let reply: unknown;
      try {
        const m = await nc.request(subject, payload.bytes, { timeout: 30_000, headers: credentialHeaders() });
        reply = JSON.parse(decode(m.data));
      } catch (err) {
        tally.failures.push(`${label}\n    no JSON reply: ${String(err)}`);
        return;
      }
      judgeCommand(label, entity, verb, natsSeen(payload.bytes), reply);
    });
    expect(failuresOf(from)).toEqual([]);
  }, 240_000);

  it('HTTP: POST /v1/commands/<entity>/<verb> with random bodies, content types and headers', async () => {
    const from = tally.failures.length;
    const contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'Application/JSON',
          'application/json;charset=latin1',
        ),
      },
      { weight: 2, arbitrary: fc.constant('text/plain') },
      { weight: 1, arbitrary: fc.constant('application/octet-stream') },
      { weight: 2, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/jsonx',
          'application/json-patch+json',
          'text/html',
          'image/png',
        ),
      },
    );
    const extraHeaders = fc.record(
      { 'idempotency-key': headerValue, 'x-correlation-id': headerValue },
      { requiredKeys: [] },
    );
    const route = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...VERBS).map(({ entity, verb }) => [entity, verb] as const) },
      { weight: 1, arbitrary: fc.tuple(pathToken, fc.constantFrom(...ALL_VERB_NAMES)) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ENTITIES), pathToken) },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.constantFrom(...ENTITIES),
          fc.tuple(pathToken, pathToken).map(([a, b]) => `${a}.${b}`),
        ),
      },
    );
    const cases = fc.sample(
      fc.tuple(route, contentType, extraHeaders).chain(([[e, v], ct, h]) =>
        payloadArb(e, v, idsFor(e), existing()).map((p) => ({
          entity: e,
          verb: v,
          ct,
          headers: h as Record<string, string>,
          payload: p,
        })),
      ),
      { seed: SEED + 2_000, numRuns: runs(1_300) },
    );
    cases.push(
      ...cases
        .filter((_, i) => i % 20 === 7)
        .map((c) => ({ ...c, payload: { ...c.payload, kind: `${c.payload.kind} (resent)` } })),
    );
    // Bodies over the 1 MiB limit, with every kind of content type, with a length and chunked.
    const huge = (n: number) => utf8.encode(JSON.stringify({ entityId: held[0], data: { holder: 'h'.repeat(n) } }));
    const oversize: { verb: string; ct: string | undefined; chunked: boolean; payload: Payload }[] = [];
    for (const [ct, n] of [
      ['application/json', 1_100_000],
      ['application/json', 5_000_000],
      ['text/plain', 1_500_000],
      ['application/octet-stream', 2_000_000],
      [undefined, 1_200_000],
    ] as const) {
      for (const chunked of [false, true])
        oversize.push({
          verb: ['create', 'renew', 'release', 'expire'][oversize.length % 4]!,
          ct,
          chunked,
          payload: { kind: chunked ? 'huge-chunked' : 'huge', bytes: huge(n) },
        });
    }

    await pool(cases, 16, async ({ entity, verb, ct, headers, payload }) => {
      tally.http++;
      const path = `/v1/commands/${encodeURIComponent(entity)}/${encodeURIComponent(verb)}`;
      const label = `HTTP POST ${trunc(path, 120)} content-type=${ct ?? '(none)'} headers=${JSON.stringify(headers)} [${payload.kind}] ${show(payload.bytes)}`;
      const res = await fetchJson(label, tether.url + path, {
        method: 'POST',
        headers: { ...(ct ? { 'content-type': ct } : {}), ...headers },
        body: payload.bytes,
      });
      if (!res) return;
      const seen = httpSeen(ct, payload.bytes, headers);
      if (entity.length > MAX_TOKEN || verb.length > MAX_TOKEN) seen.parserRejects = true;
      judgeCommand(label, entity, verb, seen, res.body, res.status);
    });
    await pool(oversize, 2, async ({ verb, ct, chunked, payload }) => {
      tally.http++;
      const path = `/v1/commands/lease/${verb}`;
      const label = `HTTP POST ${path} content-type=${ct ?? '(none)'}${chunked ? ' chunked' : ''} [${payload.kind}] ${payload.bytes.length} bytes`;
      try {
        const { status, text } = await postOversize(tether.url, path, ct, payload.bytes, chunked);
        judgeCommand(label, 'lease', verb, httpSeen(ct, payload.bytes, {}), JSON.parse(text), status);
      } catch (err) {
        tally.failures.push(`${label}\n    no answer: ${String(err)}`);
      }
    });
    expect(failuresOf(from)).toEqual([]);
  }, 240_000);

  it('HTTP: reads with random ids, unknown paths and methods', async () => {
    const from = tally.failures.length;
    const idSeg = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...existing()) },
      { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: MAX_TOKEN }).map((n) => 'i'.repeat(n)) },
      { weight: 3, arbitrary: pathToken },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'a.b',
          'a b',
          '*',
          '>',
          'tether.evt.lease.x',
          '%',
          '💥',
          '..a',
          'a..',
          'a/b',
          '\u0000',
          '-',
          '_',
        ),
      },
      { weight: 1, arbitrary: fc.integer({ min: MAX_TOKEN + 1, max: 3_000 }).map((n) => 'x'.repeat(n)) },
    );
    const entitySeg = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ENTITIES) },
      { weight: 2, arbitrary: pathToken },
    );
    const badEscape = fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%FF', '%00', '%2', 'a%', '%%');
    type Read = { method: string; path: string; allowed: ErrorCode[]; ok?: (b: unknown) => boolean; must2xx?: boolean };
    const enc = encodeURIComponent;
    const isActor = (id: string) => (b: unknown) => (b as { entityId?: string })?.entityId === id;
    const isEvents = (id: string) => (b: unknown) =>
      Array.isArray(b) && b.length > 0 && b.every((e) => e.entityId === id);
    const exists = (entity: string, id: string) =>
      (entity === 'lease' && (held.includes(id) || id === released)) || (entity === 'harness' && id === HARNESS_ID);
    const entityRead = (entity: string, id: string, events: boolean): Read => {
      const allowed: ErrorCode[] = [];
      if (!Object.hasOwn(contracts, entity)) allowed.push('UNKNOWN_COMMAND');
      if (!Token.safeParse(id).success) allowed.push('INVALID_COMMAND');
      if (entity.length > MAX_TOKEN || enc(id).length > MAX_TOKEN) allowed.push('INVALID_COMMAND');
      const known = allowed.length === 0;
      const there = known && exists(entity, id);
      if (known && !there) allowed.push('NOT_FOUND');
      const mayExist = there || (known && tally.touched.has(`${entity}:${id}`));
      return {
        method: 'GET',
        path: `/v1/entities/${enc(entity)}/${enc(id)}${events ? '/events' : ''}`,
        allowed,
        ok: mayExist ? (events ? isEvents(id) : isActor(id)) : undefined,
        must2xx: there,
      };
    };
    const reads = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(entitySeg, idSeg, fc.boolean()).map(([e, i, ev]) => entityRead(e, i, ev)) },
      {
        weight: 1,
        arbitrary: entitySeg.map(
          (e): Read => ({
            method: 'GET',
            path: `/v1/entities/${enc(e)}`,
            allowed: Object.hasOwn(contracts, e)
              ? []
              : ['UNKNOWN_COMMAND', ...(e.length > MAX_TOKEN ? (['INVALID_COMMAND'] as const) : [])],
            ok: Object.hasOwn(contracts, e) ? (b) => Array.isArray((b as { items?: unknown }).items) : undefined,
          }),
        ),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            badEscape,
            fc.constantFrom(
              '/v1/entities/lease/$',
              '/v1/entities/$/x',
              '/v1/entities/$',
              '/v1/commands/lease/$',
              '/$',
              '/v1/$',
              '/v1/entities/lease/$/events',
              `/v1/workspaces/$/lanes`,
              `/v1/workspaces/${WORKSPACE}/lanes/$`,
            ),
          )
          .map(
            ([bad, tpl]): Read => ({
              method: tpl.startsWith('/v1/commands') ? 'POST' : 'GET',
              path: tpl.replace('$', bad),
              allowed: ['INVALID_COMMAND', 'NOT_FOUND', 'UNKNOWN_COMMAND'],
            }),
          ),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            pathToken,
            fc.constantFrom(
              '/$',
              '/v1/$',
              '/v2/entities/lease/$',
              '/v1/commands/$',
              '/v1/commands/lease/create/$',
              '/v1/entities/lease/x/$',
              '/v1/entities/lease/x/events/$',
              '/healthz/$',
              '/v1/harness/$/status',
              '/v1/workspaces/x/$',
            ),
          )
          .filter(([seg, tpl]) => !(tpl === '/$' && ['healthz', 'metrics', 'openapi.json'].includes(seg)))
          .map(
            ([seg, tpl]): Read => ({
              method: 'GET',
              path: tpl.replace('$', enc(seg)),
              allowed: ['NOT_FOUND', ...(seg.length > MAX_TOKEN ? (['INVALID_COMMAND'] as const) : [])],
            }),
          ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom('PUT', 'PATCH', 'DELETE', 'GET'), fc.constantFrom(...VERBS)).map(
          ([method, { entity, verb }]): Read => ({
            method,
            path: `/v1/commands/${entity}/${verb}`,
            allowed: ['NOT_FOUND'],
          }),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom('POST', 'PUT', 'DELETE'), fc.constantFrom(...held), fc.boolean()).map(
          ([method, id, ev]): Read => ({
            method,
            path: `/v1/entities/lease/${id}${ev ? '/events' : ''}`,
            allowed: ['NOT_FOUND'],
          }),
        ),
      },
    );
    const cases = fc.sample(reads, { seed: SEED + 3_000, numRuns: runs(600) });
    // Every existing entity (including the lease whose id is 128 chars long) reads back, state and events.
    for (const id of [...held, released]) cases.push(entityRead('lease', id, false), entityRead('lease', id, true));
    cases.push(entityRead('harness', HARNESS_ID, false), entityRead('harness', HARNESS_ID, true));

    await pool(cases, 16, async ({ method, path, allowed, ok, must2xx }) => {
      tally.http++;
      const label = `HTTP ${method} ${trunc(path, 160)}`;
      const res = await fetchJson(label, tether.url + path, {
        method,
        ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }),
      });
      if (res) judgeHttp(label, res.status, res.body, new Set(allowed), ok, must2xx);
    });
    expect(failuresOf(from)).toEqual([]);
  }, 120_000);

  it('HTTP: every other route of /openapi.json with random params, bodies and headers', async () => {
    const from = tally.failures.length;
    const doc = (await (await fetch(`${tether.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
      components?: { schemas?: Record<string, JsonSchema> };
    };
    const resolve = (s: JsonSchema): JsonSchema =>
      s.$ref ? resolve(doc.components?.schemas?.[s.$ref.split('/').pop()!] ?? {}) : s;
    const arbs = schemaArbs(resolve, existing());
    // /v1/commands and /v1/entities are fuzzed above, with an exact oracle; /v1/stream never ends (server-sent events).
    const routes = Object.entries(doc.paths)
      .filter(([p]) => !p.startsWith('/v1/commands/') && !p.startsWith('/v1/entities') && p !== '/v1/stream')
      .flatMap(([p, ops]) =>
        Object.entries(ops).map(([method, op]) => ({
          path: p,
          method: method.toUpperCase(),
          body: op.requestBody?.content?.['application/json']?.schema,
        })),
      );
    expect(routes.length).toBeGreaterThan(0);
    const param = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(WORKSPACE, ...existing()) },
      { weight: 2, arbitrary: shortToken },
      { weight: 2, arbitrary: pathToken },
      { weight: 1, arbitrary: fc.integer({ min: MAX_TOKEN + 1, max: 400 }).map((n) => 'p'.repeat(n)) },
    );
    const headers = fc.record(
      { 'idempotency-key': headerValue, 'x-correlation-id': headerValue, 'x-tether-csrf': headerValue },
      { requiredKeys: [] },
    );
    const contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/octet-stream') },
    );
    const perRoute = runs(Math.max(20, Math.round(600 / routes.length)));
    const cases = routes.flatMap((r, k) =>
      fc
        .sample(
          fc.record({
            params: fc.array(param, { minLength: 4, maxLength: 4 }),
            headers,
            ct: contentType,
            body: r.body
              ? fc.oneof(
                  { weight: 5, arbitrary: arbs.near(r.body).map((b) => JSON.stringify(b)) },
                  { weight: 1, arbitrary: fc.constantFrom('', '{', 'null', '[]', '"x"') },
                )
              : fc.constant(undefined),
          }),
          { seed: SEED + 4_000 + k, numRuns: perRoute },
        )
        .map((c) => ({ ...r, ...c })),
    );

    // Directed: each POST with a schema-valid body in the configured workspace (on a lane that exists),
    // once with each odd header value, since headers become command ids and correlation ids.
    const lanes: string[] = [];
    const oddHeaders: Record<string, string>[] = [
      { 'x-tether-csrf': 'h'.repeat(300) },
      { 'idempotency-key': 'a.b c' },
      { 'idempotency-key': 'k'.repeat(MAX_TOKEN + 1) },
      { 'x-correlation-id': '*' },
      { 'x-correlation-id': 'c'.repeat(400) },
      {},
    ];
    const posts = routes
      .filter((r) => r.method === 'POST')
      .sort((a, b) => a.path.split('{').length - b.path.split('{').length);
    const directed = posts.flatMap((r, k) =>
      oddHeaders.map((headers, j) => ({
        ...r,
        headers,
        ct: 'application/json',
        body: r.body
          ? JSON.stringify(fc.sample(arbs.valid(r.body), { seed: SEED + 5_000 + k * 10 + j, numRuns: 1 })[0])
          : undefined,
      })),
    );

    const send = async (
      {
        path,
        method,
        params,
        headers: h,
        ct,
        body,
      }: {
        path: string;
        method: string;
        params?: string[];
        headers: Record<string, string>;
        ct: string;
        body?: string;
      },
      i: number,
    ) => {
      tally.http++;
      let n = 0;
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) =>
        encodeURIComponent(params?.[n++] ?? (name === 'ws' ? WORKSPACE : (lanes.at(-1) ?? 'no-lane'))),
      );
      // Every request carries a correlation id the test knows, so the events it causes can be accounted for.
      const sent: Record<string, string> = { ...h };
      if (!sent['x-correlation-id'] && !sent['idempotency-key']) sent['x-correlation-id'] = `fz-cp-${i}`;
      else if (sent['x-correlation-id']) sent['x-correlation-id'] = `${sent['x-correlation-id']}-${i}`;
      else sent['idempotency-key'] = `${sent['idempotency-key']}-${i}`;
      const correlationId = sent['x-correlation-id'] ?? sent['idempotency-key']!;
      const label = `HTTP ${method} ${trunc(url, 160)} headers=${JSON.stringify(sent)}${body !== undefined ? ` content-type=${ct} body=${trunc(body, 200)}` : ''}`;
      const res = await fetchJson(
        label,
        tether.url + url,
        {
          method,
          headers: { ...sent, ...(body !== undefined ? { 'content-type': ct } : {}) },
          ...(body !== undefined ? { body } : {}),
        },
        true,
      );
      if (!res) return;
      const ok = judgeHttp(label, res.status, res.body, 'any', (b) => b !== null && typeof b === 'object');
      (ok ? tally.controlPlaneOk : tally.controlPlaneFailed).set(correlationId, label);
      const laneId = (res.body as { lane_id?: unknown }).lane_id;
      if (ok && typeof laneId === 'string' && path.endsWith('/lanes')) lanes.push(laneId);
    };
    await pool(cases, 8, send);
    for (const [i, c] of directed.entries()) await send(c, cases.length + i);
    expect(failuresOf(from)).toEqual([]);
  }, 240_000);

  it('wrote exactly one event per accepted command, valid envelopes, nothing for a rejected request', async () => {
    // Read every event after the fuzz started one by one (direct get, no consumer): see the last test.
    const after = await store.lastStreamSeq();
    written = [];
    for (let seq = before + 1; seq <= after; seq++) {
      const e = await store.getEvent(seq);
      expect(e, `stream seq ${seq} is missing`).toBeDefined();
      written.push(e!);
    }
    const appCorrelations = new Map(
      [...tally.accepted.values()].filter((a) => a.app).map((a) => [a.correlationId, a.label]),
    );
    const acceptedCorrelations = new Set([...tally.accepted.values()].map((a) => a.correlationId));
    const direct = new Map<string, number>();
    const invalid: string[] = [];
    const strays: string[] = [];
    for (const { event: e, streamSeq } of written) {
      const shape = EventEnvelope.safeParse(e);
      if (!shape.success)
        invalid.push(
          `seq ${streamSeq} ${e.type} ${e.entityId} (correlation ${e.correlationId}): ${issuesText(shape.error)}`,
        );
      const accepted = tally.accepted.get(e.causationId);
      if (accepted && !accepted.app) direct.set(e.causationId, (direct.get(e.causationId) ?? 0) + 1);
      // A step of an accepted application command (session.ensure), or a worker's report on an accepted command.
      else if (appCorrelations.has(e.correlationId)) continue;
      else if (
        acceptedCorrelations.has(e.correlationId) &&
        e.actor.kind === 'system' &&
        e.actor.id.startsWith('worker:')
      )
        continue;
      // A control-plane request answered 2xx, and what workers reported on it.
      else if (tally.controlPlaneOk.has(e.correlationId)) continue;
      // A deadline the timer service fired (a fuzzed create or renew gave a short ttl).
      else if (e.causationId.startsWith('timer-') && e.actor.kind === 'system') continue;
      // The server's own instance: its heartbeat (crash detection), no command's doing.
      else if (e.entity === 'instance' && e.actor.kind === 'system') continue;
      else {
        const rejected = tally.controlPlaneFailed.get(e.correlationId);
        strays.push(
          `seq ${streamSeq} ${e.type} ${e.entityId} caused by ${e.causationId}, correlation ${e.correlationId}${rejected ? `, from the REJECTED request ${rejected}` : ''}`,
        );
      }
    }
    expect(invalid, 'events that break the EventEnvelope contract').toEqual([]);
    expect(strays, 'events no accepted command accounts for').toEqual([]);
    const notOnce = [...tally.accepted]
      .filter(([id, a]) => !a.app && direct.get(id) !== 1)
      .map(([id, a]) => `${id} (${direct.get(id) ?? 0} events; reply said stream seq ${a.streamSeq}): ${a.label}`);
    expect(notOnce, 'accepted commands without exactly one event').toEqual([]);
    expect(after - before).toBe(written.length);
  });

  it('store.readAll reads the fuzzed range back completely (as crash recovery does)', async () => {
    // The accounting above reads with direct gets. readAll (used by rebuild, `tether events`) reads with
    // an ordered consumer and stops at the first message whose `pending` is 0; on nats-server 2.9
    // that count can reach 0 early, so the read comes back short. Twenty reads make that visible.
    const want = written.map((e) => e.streamSeq);
    const short: string[] = [];
    for (let round = 0; round < 20; round++) {
      const got: number[] = [];
      for await (const e of store.readAll({ afterStreamSeq: before })) got.push(e.streamSeq);
      if (got.length !== want.length)
        short.push(
          `read ${round}: ${got.length} of ${want.length} events, last seq ${got.at(-1)} (want up to ${want.at(-1)})`,
        );
    }
    expect(short).toEqual([]);
  });

  it('the process survived: alive, /healthz ok, a valid command still works', async () => {
    expect(tether.alive).toBe(true);
    const health = await fetch(`${tether.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
    const id = uid('fz-after');
    expect(
      await postCommand(tether, 'lease', 'create', { entityId: id, data: { holder: 'after', ttlMs: 60_000 } }),
    ).toMatchObject({ ok: true, entityId: id, seq: 1 });
    const m = await nc.request(subjects.command('lease', 'renew'), JSON.stringify({ entityId: id }), {
      timeout: 10_000,
      headers: credentialHeaders(),
    });
    expect(CommandAccepted.parse(m.json())).toMatchObject({ ok: true, entityId: id, seq: 2, duplicate: false });
    expect(tether.alive).toBe(true);
  });
});
