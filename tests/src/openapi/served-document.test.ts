import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES, CommandAccepted, LaneView } from '@tether/contracts';
import { openApiDocument } from '@tether/contracts/openapi';
import { bearer, gitRepo, TetherProcess } from '../harness/index.ts';
import { OPENAPI_FILE } from '../harness/tether-responses.ts';

// The document every response is checked against (tests/src/harness/openapi-check.setup.ts) is
// contracts/openapi.json; this is where the one a real `tether up` serves is shown to be the same. The calls
// below are the mismatches once found between the two, each checked by the setup file as well.

let up: TetherProcess;
beforeAll(async () => {
  const repo = await gitRepo();
  up = await TetherProcess.start({
    TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-openapi-')),
    TETHER_NO_CHILD_NATS: '1',
    NATS_URL: '',
    TETHER_WORKSPACES: `ws1=${repo}`,
  });
});
afterAll(async () => up?.kill('SIGTERM'));

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(up.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(up), ...headers },
    body,
  });

describe('the served /openapi.json', () => {
  it('is the document generated from contracts/, which the response check reads', async () => {
    const res = await fetch(`${up.url}/openapi.json`);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const served = await res.json();
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(served).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
  });

  it('declares 413 for a body over the limit, and nothing is written', async () => {
    const big = JSON.stringify({ data: { holder: 'x'.repeat(BODY_LIMIT_BYTES) } });
    const res = await post('/v1/commands/lease/create', big, { 'idempotency-key': 'too-big' });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ ok: false, error: { code: 'INVALID_COMMAND' } });
    expect(
      (await fetch(`${up.url}/v1/entities/lease`, { headers: bearer(up) }).then((r) => r.json())) as object,
    ).toEqual({ items: [] });
  });

  it('answers a resent create with its original status, 201, and the original result', async () => {
    const send = () =>
      post('/v1/commands/lease/create', JSON.stringify({ entityId: 'l-resend', data: { holder: 'ann' } }), {
        'idempotency-key': 'k-resend',
      });
    const [first, again] = [await send(), await send()];
    expect([first.status, again.status]).toEqual([201, 201]);
    const [a, b] = [CommandAccepted.parse(await first.json()), CommandAccepted.parse(await again.json())];
    expect(b).toEqual({ ...a, duplicate: true });

    const lane = () =>
      post(
        '/v1/workspaces/ws1/lanes',
        JSON.stringify({ project_context_id: 'p', display_name: 'resent', lane_id: 'lane-resend' }),
        { 'idempotency-key': 'k-lane-resend' },
      );
    const [l1, l2] = [await lane(), await lane()];
    expect([l1.status, l2.status]).toEqual([201, 201]);
    expect(LaneView.parse(await l2.json()).lane_id).toBe(LaneView.parse(await l1.json()).lane_id);
  });

  it('lists no internal verb, and the generic command route declares its refusal', async () => {
    const doc = (await (await fetch(`${up.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(doc.paths).not.toHaveProperty(['/v1/commands/lane/provisioned']);
    const res = await post('/v1/commands/lane/provisioned', JSON.stringify({ entityId: 'lane-resend', data: {} }));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ ok: false, error: { code: 'NOT_ALLOWED', reason: 'INTERNAL_VERB' } });
  });
});
