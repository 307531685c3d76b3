import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect as tcpConnect } from 'node:net';
import {
  CommandAccepted,
  CommandRejected,
  CommandReply,
  CommandRequest,
  EntityName,
  ErrorCode,
  HTTP_STATUS,
  Token,
  Verb,
  entityContracts,
  subjects,
  type EntityContract,
} from '@tether/contracts';
import { JetStreamEventStore } from '@tether/runtime';
import { NatsServer, TetherProcess, uid } from '../harness/index.ts';
import { postCommand } from './helpers.ts';

/**
 * (d) A few thousand random and malformed payloads on every command subject and endpoint: every
 * one is answered with a contract-shaped rejection carrying a clear code (never INTERNAL, never a
 * 5xx), nothing crashes, and the stream grows by exactly one event per accepted command.
 *
 * Inputs come from fc.sample with a fixed seed (FUZZ_SEED overrides it), so a failure names the
 * exact request and reproduces. The oracle below decides, from the bytes actually sent, which
 * codes a request may get; an ok:true is allowed only when the request is a valid command.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_611);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

const contracts: Record<string, EntityContract> = entityContracts;
const ENTITIES = Object.keys(contracts);
const VERBS = ENTITIES.flatMap((entity) => Object.keys(contracts[entity]!).map((verb) => ({ entity, verb })));
const ALL_VERB_NAMES = [...new Set(VERBS.map((v) => v.verb))];
const PROTO_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__proto__', '__defineGetter__', '__lookupSetter__'];
/** Codes a well-formed command may still get, depending on the entity's state or an id reused elsewhere. */
const STATEFUL: ErrorCode[] = ['NOT_FOUND', 'ALREADY_EXISTS', 'NOT_ALLOWED', 'CONFLICT'];
/** Path segments longer than a Token may be refused by the router itself (still as INVALID_COMMAND). */
const MAX_TOKEN = 128;

const utf8 = new TextEncoder();
const decode = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(b);
const trunc = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
const show = (b: Uint8Array) => trunc(JSON.stringify(decode(b)));

// ---------------------------------------------------------------------------------------------
// Oracle

function verbContract(entity: string, verb: string) {
  if (!EntityName.safeParse(entity).success || !Verb.safeParse(verb).success) return undefined;
  if (!Object.hasOwn(contracts, entity)) return undefined;
  const c = contracts[entity]!;
  return Object.hasOwn(c, verb) ? c[verb] : undefined;
}

/** The codes the static checks (names, envelope, verb data, entityId) allow; empty = a valid command. */
function staticCodes(entity: string, verb: string, body: unknown): Set<ErrorCode> {
  const codes = new Set<ErrorCode>();
  const v = verbContract(entity, verb);
  if (!v) codes.add('UNKNOWN_COMMAND');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return codes.add('INVALID_COMMAND');
  const req = CommandRequest.safeParse(body);
  if (!req.success) return codes.add('INVALID_COMMAND');
  if (v && (!v.data.safeParse(req.data.data).success || (!req.data.entityId && !v.creates))) codes.add('INVALID_COMMAND');
  return codes;
}

/** What the server may see as the body: candidate values, and whether its parser may refuse it outright. */
interface Seen {
  bodies: unknown[];
  parserRejects: boolean;
  /** HTTP status for a parser refusal, when it is not HTTP_STATUS[code] (413). */
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

const BODY_LIMIT = 1024 * 1024;

function httpSeen(contentType: string | undefined, payload: Uint8Array, headers: Record<string, string>): Seen {
  const merge = (b: unknown) => {
    const body = b ?? {};
    if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
    return { ...(headers['idempotency-key'] ? { id: headers['idempotency-key'] } : {}), ...(headers['x-correlation-id'] ? { correlationId: headers['x-correlation-id'] } : {}), ...body };
  };
  const media = contentType?.split(';')[0]!.trim().toLowerCase();
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
  return payload.length === 0 ? { bodies: [merge(undefined)], parserRejects: true } : { bodies: [], parserRejects: true };
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping

interface Tally {
  nats: number;
  http: number;
  byCode: Map<string, number>;
  accepted: Map<string, { label: string; streamSeq: number; entityId: string }>; // commandId -> what was sent (non-duplicates)
  duplicates: number;
  /** Requests that were valid commands (by the oracle), whatever the entity's state made of them. */
  wellFormed: number;
  created: Set<string>;
  failures: string[];
}
const tally: Tally = { nats: 0, http: 0, byCode: new Map(), accepted: new Map(), duplicates: 0, wellFormed: 0, created: new Set(), failures: [] };
const bump = (code: string) => tally.byCode.set(code, (tally.byCode.get(code) ?? 0) + 1);

function failuresOf(from: number) {
  const f = tally.failures.slice(from);
  return f.length === 0 ? [] : [`${f.length} failing request(s) (FUZZ_SEED=${SEED}); first ones:`, ...f.slice(0, 12)];
}

/** Checks one command reply (NATS or HTTP) against the oracle; records what is wrong. */
function judgeCommand(label: string, entity: string, verb: string, seen: Seen, reply: unknown, status?: number): void {
  const fail = (why: string) => void tally.failures.push(`${label}\n    ${why}\n    reply: ${trunc(JSON.stringify(reply))}${status ? ` (HTTP ${status})` : ''}`);
  const parsed = CommandReply.safeParse(reply);
  if (!parsed.success) return fail(`the reply is not a CommandReply: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const r = parsed.data;
  const valid = seen.bodies.filter((b) => staticCodes(entity, verb, b).size === 0);
  if (valid.length > 0) tally.wellFormed++;
  if (r.ok) {
    bump('ok');
    if (valid.length === 0) return fail('accepted a command that is not valid');
    // Re-validate what was sent against the verb's own schema, and the reply against it.
    const req = CommandRequest.parse(valid[0]);
    const v = verbContract(entity, verb)!;
    if (!v.data.safeParse(req.data).success) return fail('accepted data the verb schema refuses');
    if (r.entity !== entity) return fail(`reply for entity ${r.entity}, sent to ${entity}`);
    if (req.id && r.commandId !== req.id) return fail(`reply commandId ${r.commandId}, sent id ${req.id}`);
    if (req.entityId && r.entityId !== req.entityId) return fail(`reply entityId ${r.entityId}, sent ${req.entityId}`);
    if (status !== undefined && status !== (v.creates && !r.duplicate ? 201 : 200)) return fail(`status ${status} for an accepted ${verb}`);
    if (r.duplicate) tally.duplicates++;
    else if (tally.accepted.has(r.commandId)) return fail(`command ${r.commandId} accepted twice as new`);
    else tally.accepted.set(r.commandId, { label, streamSeq: r.streamSeq, entityId: r.entityId });
    if (v.creates) tally.created.add(r.entityId);
    return;
  }
  const { code, message } = r.error;
  bump(code);
  if (message.trim() === '') return fail('empty error message');
  if (status !== undefined) {
    const want = seen.oversize ? 413 : HTTP_STATUS[code];
    if (status !== want) return fail(`status ${status}, but ${code} is HTTP ${want}`);
  }
  const allowed = new Set<ErrorCode>();
  if (!verbContract(entity, verb)) allowed.add('UNKNOWN_COMMAND'); // whatever the body, an unknown name may be said first
  if (seen.parserRejects) allowed.add('INVALID_COMMAND');
  for (const b of seen.bodies) for (const c of staticCodes(entity, verb, b)) allowed.add(c);
  if (valid.length > 0) STATEFUL.forEach((c) => allowed.add(c));
  if (!allowed.has(code)) fail(`code ${code}, expected one of ${[...allowed].join(', ') || '(ok:true)'}: ${trunc(message)}`);
}

/** Checks a non-command HTTP answer: 200 with a shape `ok` approves, or a contract rejection with an allowed code. */
function judgeRead(label: string, status: number, body: unknown, allowed: Set<ErrorCode>, ok?: (b: unknown) => boolean, must200 = false): void {
  const fail = (why: string) => void tally.failures.push(`${label}\n    ${why}\n    reply: ${trunc(JSON.stringify(body))} (HTTP ${status})`);
  if (status === 200) {
    bump('ok');
    if (!ok) return fail('answered 200 where an error was expected');
    if (!ok(body)) return fail('a 200 with an unexpected body');
    return;
  }
  const parsed = CommandRejected.safeParse(body);
  if (!parsed.success) return fail(`not {ok:false, error:{code, message}}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const { code, message } = parsed.data.error;
  bump(code);
  if (message.trim() === '') return fail('empty error message');
  if (status !== HTTP_STATUS[code]) return fail(`status ${status}, but ${code} is HTTP ${HTTP_STATUS[code]}`);
  if (must200) return fail(`expected 200, got ${code}: ${trunc(message)}`);
  if (!allowed.has(code)) fail(`code ${code}, expected one of ${[...allowed].join(', ') || '(200)'}: ${trunc(message)}`);
}

/**
 * POSTs a body over the limit the way RFC 9112 §9.5 asks of a client: send in chunks, stop sending
 * once the server has answered, read the answer. (fetch fails with EPIPE when the server answers 413
 * and closes while a multi-megabyte body is still being written, losing the answer it did send.)
 */
async function postOversize(base: string, path: string, contentType: string | undefined, body: Uint8Array, chunked: boolean): Promise<{ status: number; text: string }> {
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
  const head = [`POST ${path} HTTP/1.1`, `Host: ${url.host}`, ...(contentType ? [`Content-Type: ${contentType}`] : []), chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`, 'Connection: close', '', ''];
  /** Gives the server up to `ms` to answer before sending more; writing into a socket it has reset would lose its answer. */
  const answerWithin = (ms: number) =>
    new Promise<void>((r) => {
      if (answered || sock.destroyed) return r();
      const t = setTimeout(r, ms);
      sock.once('data', () => (clearTimeout(t), r()));
      sock.once('close', () => (clearTimeout(t), r()));
    });
  sock.write(head.join('\r\n'));
  await answerWithin(1_000); // a declared length over the limit, or an unsupported type, is refused before the body
  let sent = 0;
  for (let at = 0; at < body.length && !answered && !sock.destroyed; at += 64 * 1024) {
    const part = body.subarray(at, at + 64 * 1024);
    const ok = sock.write(chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part);
    if (!ok) await new Promise<void>((r) => { sock.once('drain', r); sock.once('close', r); });
    const before = sent;
    sent += part.length;
    if (before <= BODY_LIMIT && sent > BODY_LIMIT) await answerWithin(2_000); // just past the limit: the server should answer now
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

// ---------------------------------------------------------------------------------------------
// Generators

const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', 'a.b', 'a b', '*', '>', 'tether.evt.lease.x', '../etc/passwd', '\u0000', 'é', '💥', '\n', 'x'.repeat(MAX_TOKEN + 1), 'x'.repeat(5_000), ...PROTO_NAMES),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);
/** Mostly valid tokens (short, so ids repeat and exercise duplicates/conflicts), sometimes not. */
const tokenish = fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/) }, { weight: 2, arbitrary: weird });
const actorArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ kind: fc.constantFrom('human', 'ai', 'system', 'service'), id: fc.string({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.oneof(fc.constantFrom('robot', 'HUMAN', '', 'admin'), weird), id: fc.oneof(fc.constant(''), fc.constant('x'.repeat(257)), weird) }, { requiredKeys: [] }),
  fc.record({ kind: fc.constant('human'), id: fc.constant('ann'), role: fc.jsonValue() }),
  weird,
);
const extraKeys = fc.dictionary(fc.stringMatching(/^[a-zA-Z_$][a-zA-Z0-9_$]{0,10}$/), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 });

/** Objects shaped like a command, every field optional and mostly ill-typed. */
const commandShaped = (ids: fc.Arbitrary<unknown>) =>
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

const ttlArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, -1, -1_000, 999, 86_400_001, 1e12, 1.5, 1_000.25, 2 ** 53, 1e308, '1000', '', null, true, [], {}, [1_000], { ttlMs: 1_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 300_000, 86_400_000) },
);

/** Data for the verb that is almost right: wrong types, out-of-range numbers, too-long strings, extra keys. */
function nearValidData(verb: string): fc.Arbitrary<unknown> {
  const maybeExtra = fc.option(extraKeys, { freq: 4 });
  const withExtra = (a: fc.Arbitrary<Record<string, unknown>>) => fc.tuple(a, maybeExtra).map(([d, e]) => ({ ...d, ...(e ?? {}) }));
  switch (verb) {
    case 'create':
      return withExtra(
        fc.record(
          {
            holder: fc.oneof(
              { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 16 }) },
              { weight: 3, arbitrary: fc.oneof(fc.constant(''), fc.integer({ min: 257, max: 4_000 }).map((n) => 'h'.repeat(n)), weird) },
            ),
            ttlMs: ttlArb,
          },
          { requiredKeys: [] },
        ),
      );
    case 'renew':
      return fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, { weight: 8, arbitrary: withExtra(fc.record({ ttlMs: ttlArb })) });
    case 'release':
      return withExtra(
        fc.record({
          reason: fc.oneof(
            { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
            { weight: 4, arbitrary: fc.oneof(fc.integer({ min: 513, max: 3_000 }).map((n) => 'r'.repeat(n)), weird) },
          ),
        }),
      );
    case 'expire':
      return fc.oneof(fc.constant({}), extraKeys);
    default:
      return fc.dictionary(fc.string({ maxLength: 8 }), weird, { maxKeys: 4 });
  }
}

const nearValidCommand = (verb: string, ids: fc.Arbitrary<unknown>) =>
  fc
    .record(
      {
        entityId: fc.oneof({ weight: 6, arbitrary: ids }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{100,128}$/) }, { weight: 2, arbitrary: weird }),
        data: nearValidData(verb),
        id: fc.oneof(fc.uuid(), tokenish),
        actor: fc.oneof({ weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('human', 'ai', 'system', 'service'), id: fc.string({ minLength: 1, maxLength: 8 }) }) }, { weight: 1, arbitrary: actorArb }),
      },
      { requiredKeys: ['data'] },
    )
    .map((o) => o as Record<string, unknown>);

/** Broken JSON texts: truncated, trailing garbage, JSON5-isms, lone tokens. */
const brokenJson = (ids: fc.Arbitrary<unknown>, verb: string) =>
  fc.oneof(
    fc.constantFrom('{', '}', '{"id":', '{"data":{}', 'nul', 'tru', '{}}', '{"a":1,}', "{'data':{}}", '[', '"', '\\u0000', 'NaN', 'Infinity', '-', '1e999', '{"data":{"holder":"x"}}garbage', '\uFEFF{}', ' ', '\n\t', '', '{"data":{"holder":"x"}} {"data":{}}', '/*c*/{}', '{"data":{"ttlMs":0x10}}'),
    fc.tuple(nearValidCommand(verb, ids), fc.nat()).map(([c, k]) => {
      const t = JSON.stringify(c);
      return t.slice(0, k % Math.max(1, t.length));
    }),
  );

/** Deeply nested documents, to look for stack overflows in parsing and validation. */
const deepJson = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('array', 'data', 'actor')).map(([n, where]) =>
  where === 'array' ? '['.repeat(n) + ']'.repeat(n) : `{"entityId":"x","${where}":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`,
);

interface Payload {
  kind: string;
  bytes: Uint8Array;
}

function payloadArb(verb: string, ids: fc.Arbitrary<unknown>): fc.Arbitrary<Payload> {
  const text = (kind: string) => (s: string): Payload => ({ kind, bytes: utf8.encode(s) });
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes): Payload => ({ kind: 'bytes', bytes })) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(text('string')) },
    { weight: 2, arbitrary: brokenJson(ids, verb).map(text('broken-json')) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => text('json-value')(JSON.stringify(v) ?? 'null')) },
    { weight: 3, arbitrary: commandShaped(ids).map((v) => text('command-shaped')(JSON.stringify(v))) },
    { weight: 5, arbitrary: nearValidCommand(verb, ids).map((v) => text('near-valid')(JSON.stringify(v))) },
    { weight: 1, arbitrary: deepJson.map(text('deep')) },
  );
}

/** Names for entities and verbs: prototype keys, near-misses, unicode, long. */
const nameLike = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_NAMES) },
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,15}$/) },
  { weight: 2, arbitrary: fc.constantFrom('Lease', 'LEASE', 'lease_', '_lease', '0lease', 'lease-x', 'leases', 'l\u0435ase', 'null', 'undefined', 'NaN', '-', '_', '%', '"', "'", '\\', '{}', '[]', 'créer', '日本') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.integer({ min: 33, max: 300 }).map((n) => 'a'.repeat(n)) },
);
/** A NATS subject token: no separators, wildcards, whitespace or control characters. */
const subjectToken = nameLike.filter((s) => s.length > 0 && [...s].every((c) => c.codePointAt(0)! > 0x20 && c !== '\u007f' && !/[\s.*>]/u.test(c)));
/** A URL path segment that the URL parser keeps as it is (no dot segments, not empty). */
const pathToken = nameLike.filter((s) => s !== '' && s !== '.' && s !== '..');

// ---------------------------------------------------------------------------------------------

describe('(d) fuzzing every command subject and endpoint', () => {
  let nats: NatsServer;
  let tether: TetherProcess;
  let nc: NatsConnection;
  let store: JetStreamEventStore;
  let before = 0;
  /** Leases that exist before the fuzz starts: three held (one with a 128-char id), one released. */
  const held = [uid('fz-a'), `fz-long-${'L'.repeat(MAX_TOKEN - 8)}`, uid('fz-b')];
  const released = uid('fz-rel');
  let ids: fc.Arbitrary<unknown>;
  const started = Date.now();

  beforeAll(async () => {
    nats = await NatsServer.start();
    tether = await TetherProcess.start({ NATS_URL: nats.url });
    nc = await connect({ servers: nats.url, name: 'fuzz' });
    store = await JetStreamEventStore.open(nats.url);
    for (const id of [...held, released]) {
      expect(await postCommand(tether.url, 'lease', 'create', { entityId: id, data: { holder: 'fuzz', ttlMs: 86_400_000 } })).toMatchObject({ ok: true });
    }
    expect(await postCommand(tether.url, 'lease', 'release', { entityId: released, data: { reason: 'fuzz' } })).toMatchObject({ ok: true });
    before = await store.lastStreamSeq();
    ids = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...held, released) }, { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/) });
  });

  afterAll(async () => {
    const codes = [...tally.byCode].sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => `${c}=${n}`).join(' ');
    console.log(
      `fuzz (seed ${SEED}): ${tally.nats + tally.http} requests (nats ${tally.nats}, http ${tally.http}) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${codes}; ${tally.wellFormed} well-formed commands, accepted ${tally.accepted.size} new + ${tally.duplicates} duplicate; failures ${tally.failures.length}`,
    );
    await nc?.close();
    await store?.close();
    await tether?.kill();
    await nats?.dispose();
  });

  it('NATS: every tether.cmd.<entity>.<verb> and unknown subjects', async () => {
    const from = tally.failures.length;
    const cases: { subject: string; entity: string; verb: string; payload: Payload }[] = [];
    VERBS.forEach(({ entity, verb }, k) => {
      for (const payload of fc.sample(payloadArb(verb, ids), { seed: SEED + k, numRuns: runs(400) })) cases.push({ subject: subjects.command(entity, verb), entity, verb, payload });
    });
    const randomSubject = fc.oneof(
      fc.tuple(subjectToken, fc.constantFrom(...ALL_VERB_NAMES)).map(([e, v]) => [e, v]),
      fc.tuple(fc.constantFrom(...ENTITIES), subjectToken).map(([e, v]) => [e, v]),
      fc.tuple(fc.constantFrom(...ENTITIES), subjectToken, subjectToken).map(([e, a, b]) => [e, `${a}.${b}`]),
      fc.tuple(fc.constantFrom(...VERBS), subjectToken).map(([{ entity, verb }, x]) => [entity, `${verb}.${x}`]),
      fc.tuple(subjectToken, subjectToken).map(([e, v]) => [e, v]),
      fc.constantFrom(...ENTITIES, 'x', 'constructor').map((e) => [e, undefined]),
    );
    const subjectCases = fc.sample(fc.tuple(randomSubject, payloadArb('create', ids)), { seed: SEED + 100, numRuns: runs(700) });
    for (const [[entity, verb], payload] of subjectCases) {
      cases.push({ subject: verb === undefined ? `tether.cmd.${entity}` : `tether.cmd.${entity}.${verb}`, entity: entity!, verb: verb ?? '', payload });
    }
    // A few large payloads, still under the server's max_payload.
    for (const [i, { entity, verb }] of VERBS.entries()) {
      const big = JSON.stringify({ entityId: held[0], data: { holder: 'h'.repeat(700_000 + i), reason: 'r'.repeat(1_000), ttlMs: 1_000 } });
      cases.push({ subject: subjects.command(entity, verb), entity, verb, payload: { kind: 'large', bytes: utf8.encode(big) } });
    }

    // Resend every 20th request byte for byte: a valid one must come back as a duplicate, not a second event.
    cases.push(...cases.filter((_, i) => i % 20 === 7).map((c) => ({ ...c, payload: { ...c.payload, kind: `${c.payload.kind} (resent)` } })));
    await pool(cases, 24, async ({ subject, entity, verb, payload }) => {
      tally.nats++;
      const label = `NATS ${subject} [${payload.kind}] ${show(payload.bytes)}`;
      let reply: unknown;
      try {
        const m = await nc.request(subject, payload.bytes, { timeout: 10_000 });
        reply = JSON.parse(decode(m.data));
      } catch (err) {
        tally.failures.push(`${label}\n    no JSON reply: ${String(err)}`);
        return;
      }
      judgeCommand(label, entity, verb, natsSeen(payload.bytes), reply);
    });
    expect(failuresOf(from)).toEqual([]);
  }, 180_000);

  it('HTTP: POST /v1/commands/<entity>/<verb> with random bodies, content types and headers', async () => {
    const from = tally.failures.length;
    const contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=latin1') },
      { weight: 2, arbitrary: fc.constant('text/plain') },
      { weight: 1, arbitrary: fc.constant('application/octet-stream') },
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/json-patch+json', 'text/html', 'image/png') },
    );
    const headerValue = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), fc.stringMatching(/^[!-~]{1,20}$/), fc.constant('a'.repeat(MAX_TOKEN + 1)));
    const extraHeaders = fc.record({ 'idempotency-key': headerValue, 'x-correlation-id': headerValue }, { requiredKeys: [] });
    const route = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...VERBS).map(({ entity, verb }) => [entity, verb] as const) },
      { weight: 1, arbitrary: fc.tuple(pathToken, fc.constantFrom(...ALL_VERB_NAMES)) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ENTITIES), pathToken) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ENTITIES), fc.tuple(pathToken, pathToken).map(([a, b]) => `${a}.${b}`)) },
    );
    const cases = fc.sample(fc.tuple(route, contentType, extraHeaders).chain(([[e, v], ct, h]) => payloadArb(v, ids).map((p) => ({ entity: e, verb: v, ct, headers: h as Record<string, string>, payload: p }))), {
      seed: SEED + 200,
      numRuns: runs(1_300),
    });
    cases.push(...cases.filter((_, i) => i % 20 === 7).map((c) => ({ ...c, payload: { ...c.payload, kind: `${c.payload.kind} (resent)` } })));
    // Bodies over the 1 MiB limit, with every kind of content type, with a length and chunked.
    const huge = (n: number) => utf8.encode(JSON.stringify({ entityId: held[0], data: { holder: 'h'.repeat(n) } }));
    const oversize: { entity: string; verb: string; ct: string | undefined; chunked: boolean; payload: Payload }[] = [];
    for (const [ct, n] of [['application/json', 1_100_000], ['application/json', 5_000_000], ['text/plain', 1_500_000], ['application/octet-stream', 2_000_000], [undefined, 1_200_000]] as const) {
      for (const chunked of [false, true]) oversize.push({ entity: 'lease', verb: VERBS[oversize.length % VERBS.length]!.verb, ct, chunked, payload: { kind: chunked ? 'huge-chunked' : 'huge', bytes: huge(n) } });
    }

    await pool(cases, 16, async ({ entity, verb, ct, headers, payload }) => {
      tally.http++;
      const path = `/v1/commands/${encodeURIComponent(entity)}/${encodeURIComponent(verb)}`;
      const label = `HTTP POST ${trunc(path, 120)} content-type=${ct ?? '(none)'} headers=${JSON.stringify(headers)} [${payload.kind}] ${show(payload.bytes)}`;
      let status: number;
      let body: unknown;
      try {
        const res = await fetch(tether.url + path, { method: 'POST', headers: { ...(ct ? { 'content-type': ct } : {}), ...headers }, body: payload.bytes, signal: AbortSignal.timeout(15_000) });
        status = res.status;
        const text = await res.text();
        try {
          body = JSON.parse(text);
        } catch {
          tally.failures.push(`${label}\n    the body is not JSON (HTTP ${status}): ${trunc(text)}`);
          return;
        }
      } catch (err) {
        tally.failures.push(`${label}\n    no answer: ${String(err)}`);
        return;
      }
      const seen = httpSeen(ct, payload.bytes, headers);
      const longSegment = entity.length > MAX_TOKEN || verb.length > MAX_TOKEN;
      if (longSegment) seen.parserRejects = true;
      judgeCommand(label, entity, verb, seen, body, status);
    });
    await pool(oversize, 2, async ({ entity, verb, ct, chunked, payload }) => {
      tally.http++;
      const path = `/v1/commands/${entity}/${verb}`;
      const label = `HTTP POST ${path} content-type=${ct ?? '(none)'}${chunked ? ' chunked' : ''} [${payload.kind}] ${payload.bytes.length} bytes`;
      try {
        const { status, text } = await postOversize(tether.url, path, ct, payload.bytes, chunked);
        judgeCommand(label, entity, verb, httpSeen(ct, payload.bytes, {}), JSON.parse(text), status);
      } catch (err) {
        tally.failures.push(`${label}\n    no answer: ${String(err)}`);
      }
    });
    expect(failuresOf(from)).toEqual([]);
  }, 180_000);

  it('HTTP: reads with random ids, unknown paths and methods', async () => {
    const from = tally.failures.length;
    const idSeg = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...held, released) },
      { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: MAX_TOKEN }).map((n) => 'i'.repeat(n)) },
      { weight: 3, arbitrary: pathToken },
      { weight: 1, arbitrary: fc.constantFrom('a.b', 'a b', '*', '>', 'tether.evt.lease.x', '%', '💥', '..a', 'a..', 'a/b', '\u0000', '-', '_') },
      { weight: 1, arbitrary: fc.integer({ min: MAX_TOKEN + 1, max: 3_000 }).map((n) => 'x'.repeat(n)) },
    );
    const entitySeg = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ENTITIES) }, { weight: 2, arbitrary: pathToken });
    const badEscape = fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%FF', '%00', '%2', 'a%', '%%');
    type Read = { method: string; path: string; allowed: ErrorCode[]; ok?: (b: unknown) => boolean; must200?: boolean };
    const enc = encodeURIComponent;
    const isLease = (id: string) => (b: unknown) => (b as { entityId?: string })?.entityId === id;
    const isEvents = (id: string) => (b: unknown) => Array.isArray(b) && b.length > 0 && b.every((e) => e.entityId === id);
    const entityRead = (entity: string, id: string, events: boolean): Read => {
      const allowed: ErrorCode[] = [];
      if (!Object.hasOwn(contracts, entity)) allowed.push('UNKNOWN_COMMAND');
      if (!Token.safeParse(id).success) allowed.push('INVALID_COMMAND');
      if (entity.length > MAX_TOKEN || enc(id).length > MAX_TOKEN) allowed.push('INVALID_COMMAND');
      const known = allowed.length === 0;
      const exists = known && entity === 'lease' && (held.includes(id) || id === released);
      if (known && !exists) allowed.push('NOT_FOUND');
      const mayExist = exists || (known && tally.created.has(id));
      return {
        method: 'GET',
        path: `/v1/entities/${enc(entity)}/${enc(id)}${events ? '/events' : ''}`,
        allowed,
        ok: mayExist ? (events ? isEvents(id) : isLease(id)) : undefined,
        must200: exists,
      };
    };
    const reads = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(entitySeg, idSeg, fc.boolean()).map(([e, i, ev]) => entityRead(e, i, ev)) },
      {
        weight: 1,
        arbitrary: entitySeg.map((e): Read => ({
          method: 'GET',
          path: `/v1/entities/${enc(e)}`,
          allowed: Object.hasOwn(contracts, e) ? [] : ['UNKNOWN_COMMAND', ...(e.length > MAX_TOKEN ? (['INVALID_COMMAND'] as const) : [])],
          ok: Object.hasOwn(contracts, e) ? (b) => Array.isArray((b as { items?: unknown }).items) : undefined,
        })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(badEscape, fc.constantFrom('/v1/entities/lease/$', '/v1/entities/$/x', '/v1/entities/$', '/v1/commands/lease/$', '/$', '/v1/$', '/v1/entities/lease/$/events'))
          .map(([bad, tpl]): Read => ({ method: tpl.startsWith('/v1/commands') ? 'POST' : 'GET', path: tpl.replace('$', bad), allowed: ['INVALID_COMMAND', 'NOT_FOUND', 'UNKNOWN_COMMAND'] })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(pathToken, fc.constantFrom('/$', '/v1/$', '/v2/entities/lease/$', '/v1/commands/$', '/v1/commands/lease/create/$', '/v1/entities/lease/x/$', '/v1/entities/lease/x/events/$', '/healthz/$'))
          .filter(([seg, tpl]) => !(tpl === '/$' && ['healthz', 'metrics', 'openapi.json'].includes(seg)))
          .map(([seg, tpl]): Read => ({ method: 'GET', path: tpl.replace('$', enc(seg)), allowed: ['NOT_FOUND', ...(seg.length > MAX_TOKEN ? (['INVALID_COMMAND'] as const) : [])] })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('PUT', 'PATCH', 'DELETE', 'GET'), fc.constantFrom(...VERBS))
          .map(([method, { entity, verb }]): Read => ({ method, path: `/v1/commands/${entity}/${verb}`, allowed: ['NOT_FOUND'] })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('POST', 'PUT', 'DELETE'), fc.constantFrom(...held), fc.boolean())
          .map(([method, id, ev]): Read => ({ method, path: `/v1/entities/lease/${id}${ev ? '/events' : ''}`, allowed: ['NOT_FOUND'] })),
      },
    );
    const cases = fc.sample(reads, { seed: SEED + 300, numRuns: runs(600) });
    // Every held lease (including the one whose id is 128 chars long) reads back, state and events.
    for (const id of [...held, released]) cases.push(entityRead('lease', id, false), entityRead('lease', id, true));

    await pool(cases, 16, async ({ method, path, allowed, ok, must200 }) => {
      tally.http++;
      const label = `HTTP ${method} ${trunc(path, 160)}`;
      try {
        const res = await fetch(tether.url + path, { method, ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }), signal: AbortSignal.timeout(15_000) });
        const text = await res.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          tally.failures.push(`${label}\n    the body is not JSON (HTTP ${res.status}): ${trunc(text)}`);
          return;
        }
        judgeRead(label, res.status, body, new Set(allowed), ok, must200);
      } catch (err) {
        tally.failures.push(`${label}\n    no answer: ${String(err)}`);
      }
    });
    expect(failuresOf(from)).toEqual([]);
  }, 120_000);

  it('wrote exactly one event per accepted command and none for a rejected one', async () => {
    const after = await store.lastStreamSeq();
    const fromCommands = new Map<string, number>();
    const timerExpiries: string[] = [];
    const strays: string[] = [];
    {
      const { jetstream, DeliverPolicy } = await import('@nats-io/jetstream');
      for (let round = 0; round < 20; round++) {
        const c = await jetstream(store.nc).consumers.get('TETHER_EVENTS', { filter_subjects: 'tether.evt.>', deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: before + 1 });
        const msgs = await c.consume({ max_messages: 1024 });
        const seen: string[] = [];
        for await (const m of msgs) { seen.push(`${m.seq}(p${m.info.pending},d${m.info.deliveryCount},r${m.info.redelivered})`); if (m.seq >= after) break; }
        await msgs.close();
        console.log(`DEBUG2 round ${round}: ${seen.join(' ')}`);
      }
    }
    const readSeqs: number[] = [];
    for await (const { event, streamSeq } of store.readAll({ afterStreamSeq: before })) {
      readSeqs.push(streamSeq);
      if (tally.accepted.has(event.causationId)) fromCommands.set(event.causationId, (fromCommands.get(event.causationId) ?? 0) + 1);
      // The timer service expires leases that fuzzed creates/renews gave a short ttl: not a fuzz request.
      else if (event.type === 'lease.expire' && event.actor.kind === 'system' && event.causationId.startsWith('timer-')) timerExpiries.push(event.entityId);
      else strays.push(`${event.type} ${event.entityId} caused by ${event.causationId}`);
    }
    if (readSeqs.length !== after - before) {
      const again: number[] = [];
      for await (const e of store.readAll({ afterStreamSeq: before })) again.push(e.streamSeq);
      console.log(`DEBUG readAll after ${before} (last ${after}) gave ${readSeqs.join(',')}; again: ${again.join(',')}`);
    }
    expect(strays, 'events written for commands that were not accepted').toEqual([]);
    const missing = await Promise.all(
      [...tally.accepted]
        .filter(([id]) => fromCommands.get(id) !== 1)
        .map(async ([id, { label, streamSeq }]) => {
          const at = await store.getEvent(streamSeq);
          return `${id} (${fromCommands.get(id) ?? 0} events in ${before + 1}..${after}; reply said stream seq ${streamSeq}, which holds ${at ? `${at.event.type} ${at.event.entityId} caused by ${at.event.causationId}` : 'nothing'}): ${label}`;
        }),
    );
    expect(missing, 'accepted commands without exactly one event').toEqual([]);
    expect(after - before).toBe(tally.accepted.size + timerExpiries.length);
  });

  it('the process survived: alive, /healthz ok, a valid command still works', async () => {
    expect(tether.alive).toBe(true);
    const health = await fetch(`${tether.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
    const id = uid('fz-after');
    expect(await postCommand(tether.url, 'lease', 'create', { entityId: id, data: { holder: 'after', ttlMs: 60_000 } })).toMatchObject({ ok: true, entityId: id, seq: 1 });
    const m = await nc.request(subjects.command('lease', 'renew'), JSON.stringify({ entityId: id }), { timeout: 10_000 });
    expect(CommandAccepted.parse(m.json())).toMatchObject({ ok: true, entityId: id, seq: 2, duplicate: false });
    expect(tether.alive).toBe(true);
  });
});
