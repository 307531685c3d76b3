import { describe, expect, it } from 'vitest';
import { openApiDocument } from '@tether/contracts/openapi';
import { CHECKED, checkedFetch, ContractViolation, ResponseCheck } from '../harness/checked-fetch.ts';
import { OpenApiChecker, type OpenApiDoc } from '../harness/openapi-checker.ts';

// The response check itself: fed responses that break the document, it must refuse each one, saying
// which call, what status and what is wrong; fed good ones, it must let them through untouched.

const doc = JSON.parse(JSON.stringify(openApiDocument())) as OpenApiDoc;
const checker = new OpenApiChecker(doc);
const BASE = 'http://127.0.0.1:1';

/** A fetch whose server answers `status` and `body`; the checked one around it, with its own tally. */
function answering(status: number, body: unknown, contentType = 'application/json; charset=utf-8') {
  const check = new ResponseCheck(
    () => checker,
    () => doc,
  );
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const inner = (async () => new Response(text, { status, headers: { 'content-type': contentType } })) as typeof fetch;
  return { tally: check.tally, fetch: checkedFetch(inner, check) };
}

const event = {
  id: 'e1',
  type: 'lease.create',
  entity: 'lease',
  entityId: 'l1',
  seq: 1,
  at: '2025-01-01T00:00:00.000Z',
  correlationId: 'c1',
  causationId: 'c1',
  actor: { kind: 'human', id: 'ann' },
  data: { holder: 'ann' },
  state: 'held',
  v: 1,
  streamSeq: 7,
};
const rejected = { ok: false, error: { code: 'NOT_FOUND', message: 'no such lease' } };

describe('the OpenAPI response check', () => {
  it('is installed around fetch in every test worker', () => {
    expect(CHECKED in globalThis.fetch).toBe(true);
  });

  it('lets responses through that the document declares, errors included', async () => {
    const good: [string, string, number, unknown][] = [
      ['GET', '/healthz', 200, { ok: true, store: 'embedded' }],
      ['GET', '/v1/entities/lease/l1/events', 200, [event]],
      ['GET', '/v1/entities/lease/l1', 404, rejected],
      [
        'POST',
        '/v1/commands/lane/provisioned',
        409,
        { ok: false, error: { code: 'NOT_ALLOWED', message: 'internal' } },
      ],
      [
        'POST',
        '/v1/workspaces/ws1/lanes',
        413,
        { ok: false, error: { code: 'INVALID_COMMAND', message: 'too large' } },
      ],
      ['GET', '/v1/nowhere', 404, rejected],
      ['GET', '/openapi.json', 200, doc],
    ];
    for (const [method, path, status, body] of good) {
      const { fetch, tally } = answering(status, body);
      const res = await fetch(BASE + path, { method });
      expect([path, res.status, await res.json()]).toEqual([path, status, body]);
      expect([tally.checked, tally.violations]).toEqual([1, []]);
    }
  });

  it('refuses a body its schema does not allow, an undeclared status, another content type, and an unknown route answering', async () => {
    const bad: [string, string, number, unknown, RegExp, string?][] = [
      // An event without its stream position, and one with a field the envelope does not have.
      ['GET', '/v1/entities/lease/l1/events', 200, [{ ...event, streamSeq: undefined }], /streamSeq/],
      ['GET', '/v1/entities/lease/l1/events', 200, [{ ...event, extra: 1 }], /additionalProperties|extra/],
      ['GET', '/healthz', 200, { ok: true, store: 'mongo' }, /\/store must be equal to one of the allowed values/],
      ['GET', '/healthz', 418, { ok: true, store: 'embedded' }, /status 418 is not declared/],
      ['GET', '/v1/entities/lease/l1', 404, { ok: false, error: { code: 'GONE', message: 'x' } }, /\/error\/code/],
      ['POST', '/v1/commands/lease/create', 201, { ok: true }, /must have required property 'commandId'/],
      ['POST', '/v1/commands/lane/provisioned', 200, { ok: true }, /status 200 is not declared/],
      ['GET', '/v1/nowhere', 200, { ok: true }, /200 where no operation of the document is/],
      ['GET', '/v/bad', 404, { error: 'nope' }, /must have required property 'ok'/],
      ['GET', '/healthz', 200, 'ok', /content type "text\/plain", declared "application\/json"/, 'text/plain'],
      ['GET', '/openapi.json', 200, { ...doc, info: { title: 'other' } }, /differs from contracts\/openapi.json/],
    ];
    for (const [method, path, status, body, why, type] of bad) {
      const { fetch, tally } = answering(status, body, type);
      const err = await fetch(BASE + path, { method }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `${method} ${path} ${status}`).toBeInstanceOf(ContractViolation);
      const message = (err as Error).message;
      expect(message).toContain(`${method} ${path} → ${status}`);
      expect(message).toMatch(why);
      expect(tally.violations).toEqual([message]);
    }
  });

  it('leaves responses from other servers alone', async () => {
    const { fetch, tally } = answering(500, 'down', 'text/plain');
    expect((await fetch('http://127.0.0.1:1/health')).status).toBe(500);
    expect(tally.checked).toBe(0);
  });
});
