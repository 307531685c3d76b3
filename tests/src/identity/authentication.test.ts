import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ActorRef,
  AuditList,
  CommandReply,
  publicCommands,
  routes,
  subjects,
  type CredentialCreated,
  type CredentialView,
  type EventEnvelope,
  type Me,
  type RouteSpec,
  type ShareCreated,
  type StoredEvent,
} from '@tether/contracts';
import { hashSecret, parseToken, sendCommand } from '@tether/runtime';
import { issueCredential, systemCommand } from '@tether/gateway';
import { api, asActor, eventually, uid, useControlPlane, type Tether } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

// Who is asking, on every surface: HTTP routes, the event stream and NATS refuse a missing or wrong
// credential (401 / UNAUTHENTICATED) and write nothing; the actor is the credential's, never one a
// caller names; a revoked or expired credential stops at once; the authorization table's refusals are
// FORBIDDEN with the rule; the audit trail names who did it and never holds a token.

const cp = useControlPlane({
  TETHER_SHARE_POLICY: policyFile([
    { id: 'people', effect: 'allow', actors: ['human:*'] },
    // An operator's own share waits for another operator: the four-eyes rule has a requester to refuse.
    { id: 'ops-ask', effect: 'allow', actors: ['human:ops'], requireApproval: true, reason: 'ops shares are reviewed' },
    { id: 'agents-ask', effect: 'allow', actors: ['ai:*'], requireApproval: true, reason: 'agents ask first' },
  ]),
});

interface Rejected {
  ok: false;
  error: { code: string; reason?: string; message: string };
}

const secret = () => randomBytes(32).toString('base64url');
const credentialIdOf = (token: string) => parseToken(token)!.credentialId;
const me = async (t: Tether) => {
  const r = await api<Me>(t, 'GET', '/v1/me');
  expect(r.status).toBe(200);
  return r.body;
};
const stream = () => cp.ctx.store;
const nc = () => cp.ctx.store.nc;

/** Events appended after stream sequence `after` (all of them, whoever wrote them). */
async function eventsSince(after: number): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of stream().readAll({ afterStreamSeq: after })) out.push(e);
  return out;
}
/** Events appended after `after` under credential `credentialId`. */
const writtenWith = async (credentialId: string, after: number) =>
  (await eventsSince(after)).filter((e) => e.event.credentialId === credentialId);

/** A fetch with exactly these headers (no token added), answering status, headers and JSON body. */
async function raw(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(cp.url + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    body: (type.startsWith('application/json') ? await res.json() : await res.text()) as Rejected,
  };
}

const ROUTES = Object.entries(routes as Record<string, RouteSpec>);
const PROTECTED = ROUTES.filter(([, r]) => !r.public);
const PUBLIC = ROUTES.filter(([, r]) => r.public);
/** A path of the route table with its parameters filled in (ids nobody has; the credential is checked first). */
const concrete = (path: string) =>
  path
    .replace('{entity}', 'lease')
    .replace('{verb}', 'create')
    .replace(/\{[^}]+\}/g, () => `no-such-${randomUUID().slice(0, 8)}`);

/** The ways of not having a credential, each with the reason the 401 gives. */
const BAD_CREDENTIALS = (): Array<{ what: string; headers: Record<string, string>; reason: string }> => {
  const owner = credentialIdOf(cp.token);
  return [
    { what: 'none', headers: {}, reason: 'NO_CREDENTIAL' },
    { what: 'a Basic header', headers: { authorization: 'Basic dXNlcjpwYXNz' }, reason: 'MALFORMED_AUTHORIZATION' },
    { what: 'Bearer without a token', headers: { authorization: 'Bearer' }, reason: 'MALFORMED_AUTHORIZATION' },
    { what: 'a token without Bearer', headers: { authorization: cp.token }, reason: 'MALFORMED_AUTHORIZATION' },
    { what: 'not a token', headers: { authorization: 'Bearer hunter2' }, reason: 'INVALID_CREDENTIAL' },
    {
      what: 'an unknown credential id',
      headers: { authorization: `Bearer tth_${randomUUID()}_${secret()}` },
      reason: 'INVALID_CREDENTIAL',
    },
    {
      what: "the owner's credential id with a wrong secret",
      headers: { authorization: `Bearer tth_${owner}_${secret()}` },
      reason: 'INVALID_CREDENTIAL',
    },
    { what: 'a made-up session cookie', headers: { cookie: 'tether_session=made-up' }, reason: 'INVALID_CREDENTIAL' },
    // A bearer token is no dashboard session: the cookie takes session credentials only.
    { what: 'a token as session cookie', headers: { cookie: `tether_session=${cp.token}` }, reason: 'WRONG_PURPOSE' },
  ];
};

function expectUnauthenticated(r: Awaited<ReturnType<typeof raw>>, reason: string, what: string) {
  expect(r.status, what).toBe(401);
  expect(r.headers.get('www-authenticate'), what).toMatch(/^Bearer\b/);
  expect(r.body, what).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED', reason } });
}

describe('authentication on HTTP', () => {
  it('the route table has protected and public routes', () => {
    expect(PUBLIC.map(([id]) => id).sort()).toEqual(['healthz', 'openapi']);
    expect(PROTECTED.length).toBeGreaterThan(30);
    expect(PROTECTED.map(([id]) => id)).toEqual(expect.arrayContaining(['metrics', 'stream', 'audit.list', 'me']));
  });

  it.each(PROTECTED)(
    '%s answers 401 UNAUTHENTICATED to no, a malformed, an unknown or a wrong credential, and writes nothing',
    async (_id, route) => {
      const before = await stream().lastStreamSeq();
      for (const bad of BAD_CREDENTIALS()) {
        const path = concrete(route.path);
        const r = await raw(route.method, path, bad.headers, route.method === 'POST' ? {} : undefined);
        expectUnauthenticated(r, bad.reason, `${route.method} ${path} with ${bad.what}`);
      }
      // tether's own workers and timers (no credential) may write meanwhile; nothing a request caused may.
      expect(
        (await eventsSince(before)).filter(
          (e) => e.event.credentialId !== undefined || e.event.actor.kind !== 'system',
        ),
      ).toEqual([]);
    },
  );

  it.each(PUBLIC)('%s answers 200 without a credential', async (_id, route) => {
    expect((await raw(route.method, route.path, {})).status).toBe(200);
  });

  it("a one-time sign-in link's token is not a bearer token", async () => {
    const link = await api<{ url: string }>(cp, 'POST', '/v1/login-links');
    expect(link.status).toBe(201);
    const token = new URL(link.body.url).hash.replace(/^#token=/, '');
    expect(parseToken(token)).toBeDefined();
    expectUnauthenticated(await raw('GET', '/v1/me', { authorization: `Bearer ${token}` }), 'WRONG_PURPOSE', 'login');
  });

  it('GET /v1/stream needs a credential; with one it streams', async () => {
    for (const bad of BAD_CREDENTIALS().slice(0, 7))
      expectUnauthenticated(await raw('GET', '/v1/stream', bad.headers), bad.reason, `stream with ${bad.what}`);
    const abort = new AbortController();
    const res = await fetch(`${cp.url}/v1/stream`, {
      headers: { authorization: `Bearer ${cp.token}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    abort.abort();
  });
});

describe('authentication on NATS', () => {
  const lease = (id: string) => ({ entityId: id, data: { holder: 'nats-client' } });

  it('a command without the Tether-Credential header, or with a wrong one, is UNAUTHENTICATED and writes nothing', async () => {
    const owner = credentialIdOf(cp.token);
    const noHeader = uid('lease');
    const m = await nc().request(subjects.command('lease', 'create'), JSON.stringify(lease(noHeader)), {
      timeout: 30_000,
    });
    expect(CommandReply.parse(m.json())).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHENTICATED', reason: 'NO_CREDENTIAL' },
    });
    const wrong: Array<[string, string]> = [
      ['', 'NO_CREDENTIAL'],
      ['hunter2', 'INVALID_CREDENTIAL'],
      [`Bearer ${cp.token}`, 'INVALID_CREDENTIAL'], // the header holds the token itself
      [`tth_${randomUUID()}_${secret()}`, 'INVALID_CREDENTIAL'],
      [`tth_${owner}_${secret()}`, 'INVALID_CREDENTIAL'],
    ];
    const ids = [noHeader];
    for (const [credential, reason] of wrong) {
      const id = uid('lease');
      ids.push(id);
      const r = await sendCommand(nc(), 'lease', 'create', lease(id), { credential, timeoutMs: 30_000 });
      expect(r, credential).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED', reason } });
    }
    for (const id of ids) expect(await stream().readEntity('lease', id)).toEqual([]);

    // The same command with the owner's token is written: the refusals above were the credential's.
    const good = uid('lease');
    expect(
      await sendCommand(nc(), 'lease', 'create', lease(good), { credential: cp.token, timeoutMs: 30_000 }),
    ).toMatchObject({ ok: true, entityId: good });
    expect(await stream().readEntity('lease', good)).toHaveLength(1);
  });
});

describe('the actor is the credential’s', () => {
  const forged = { kind: 'human', id: 'mallory' } as const;

  it('HTTP: an actor in the body or an X-Tether-Actor header is ignored; the event names the credential', async () => {
    const bob = await asActor(cp, 'human:bob', 'member');
    const bobCred = credentialIdOf(bob.token);
    const id = uid('lease');
    const r = await api(
      bob,
      'POST',
      '/v1/commands/lease/create',
      { entityId: id, data: { holder: 'h' }, actor: forged },
      { 'x-tether-actor': 'human:mallory' },
    );
    expect(r.status).toBe(201);
    const events = await api<EventEnvelope[]>(bob, 'GET', `/v1/entities/lease/${id}/events`);
    expect(events.body).toHaveLength(1);
    expect(events.body[0]).toMatchObject({ actor: { kind: 'human', id: 'bob' }, credentialId: bobCred });

    // A route of the table too: the lane's events are bob's.
    const lane = await api<{ lane_id: string }>(
      bob,
      'POST',
      '/v1/workspaces/ws1/lanes',
      { project_context_id: 'p', display_name: 'forged' },
      { 'x-tether-actor': 'human:mallory' },
    );
    expect(lane.status).toBe(201);
    const laneEvents = await api<EventEnvelope[]>(bob, 'GET', `/v1/entities/lane/${lane.body.lane_id}/events`);
    expect(laneEvents.body.length).toBeGreaterThan(0);
    expect(laneEvents.body[0]).toMatchObject({ actor: { kind: 'human', id: 'bob' }, credentialId: bobCred });
    expect(JSON.stringify(laneEvents.body)).not.toContain('mallory');
  });

  it('NATS: an actor in the command (mallory, even the system) is ignored; the event names the credential', async () => {
    const carl = await asActor(cp, 'ai:carl', 'service');
    for (const actor of [forged, { kind: 'system', id: 'tether' }] as const) {
      const id = uid('lease');
      const r = await sendCommand(
        nc(),
        'lease',
        'create',
        { entityId: id, data: { holder: 'h' }, actor },
        { credential: carl.token, timeoutMs: 30_000 },
      );
      expect(r, actor.id).toMatchObject({ ok: true });
      const [e] = await stream().readEntity('lease', id);
      expect(e!.event, actor.id).toMatchObject({
        actor: { kind: 'ai', id: 'carl' },
        credentialId: credentialIdOf(carl.token),
      });
    }
  });
});

describe('revoking and expiry cut access at once', () => {
  it('HTTP: a revoked token’s very next request is 401 CREDENTIAL_REVOKED, and it writes nothing', async () => {
    const owner = await me(cp);
    const made = await api<CredentialCreated>(cp, 'POST', '/v1/credentials', {
      actor: 'human:carol',
      role: 'member',
      label: 'revoke test',
    });
    expect(made.status).toBe(201);
    const carol = { url: cp.url, token: made.body.token! };
    expect((await me(carol)).actor).toBe('human:carol');
    expect(
      (await api(carol, 'POST', '/v1/commands/lease/create', { entityId: uid('lease'), data: { holder: 'c' } })).status,
    ).toBe(201);

    const revoked = await api<CredentialView>(cp, 'POST', `/v1/credentials/${made.body.credential_id}/revoke`, {
      reason: 'left the team',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ state: 'revoked', ended_by: owner.actor, reason: 'left the team' });

    const before = await stream().lastStreamSeq();
    const after = await api<Rejected>(carol, 'GET', '/v1/me');
    expect(after.status).toBe(401);
    expect(after.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_REVOKED' });
    const id = uid('lease');
    const write = await api<Rejected>(carol, 'POST', '/v1/commands/lease/create', {
      entityId: id,
      data: { holder: 'c' },
    });
    expect(write.status).toBe(401);
    expect(write.body.error.reason).toBe('CREDENTIAL_REVOKED');
    expect(await stream().readEntity('lease', id)).toEqual([]);
    expect(await writtenWith(made.body.credential_id, before)).toEqual([]);
  });

  it('NATS: a holder revokes their own credential over NATS; its very next command is CREDENTIAL_REVOKED', async () => {
    const made = await api<CredentialCreated>(cp, 'POST', '/v1/credentials', { actor: 'human:dave', role: 'member' });
    const dave = made.body.token!;
    const send = (verb: string, req: Parameters<typeof sendCommand>[3]) =>
      sendCommand(nc(), verb === 'revoke' ? 'credential' : 'lease', verb, req, { credential: dave, timeoutMs: 30_000 });
    expect(await send('create', { entityId: uid('lease'), data: { holder: 'd' } })).toMatchObject({ ok: true });
    expect(await send('revoke', { entityId: made.body.credential_id, data: { reason: 'done' } })).toMatchObject({
      ok: true,
    });
    const id = uid('lease');
    expect(await send('create', { entityId: id, data: { holder: 'd' } })).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_REVOKED' },
    });
    expect(await stream().readEntity('lease', id)).toEqual([]);
    const listed = await api<{ items: CredentialView[] }>(cp, 'GET', '/v1/credentials');
    expect(listed.body.items.find((c) => c.credential_id === made.body.credential_id)).toMatchObject({
      state: 'revoked',
      ended_by: 'human:dave',
      reason: 'done',
    });
  });

  it('an expired credential is refused on HTTP and NATS (CREDENTIAL_EXPIRED), and the list says expired', async () => {
    // The API's shortest ttl is a minute; a credential of a few seconds is issued inside tether instead.
    const low = await api<Rejected>(cp, 'POST', '/v1/credentials', {
      actor: 'human:erin',
      role: 'member',
      ttl_ms: 59_999,
    });
    expect(low.status).toBe(400);
    const ttlMs = 8_000;
    const issued = await issueCredential(cp.server.host, systemCommand('credential', 'issue'), {
      actor: { kind: 'human', id: 'erin' },
      role: 'member',
      purpose: 'token',
      ttlMs,
      label: 'short',
    });
    const erin = { url: cp.url, token: issued.token! };
    const expiresAt = Date.now() + ttlMs;
    expect((await me(erin)).actor).toBe('human:erin'); // works while it lasts

    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 500)));
    const r = await api<Rejected>(erin, 'GET', '/v1/me');
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_EXPIRED' });
    const lease = uid('lease');
    expect(
      await sendCommand(
        nc(),
        'lease',
        'create',
        { entityId: lease, data: { holder: 'e' } },
        { credential: erin.token, timeoutMs: 30_000 },
      ),
    ).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_EXPIRED' } });
    expect(await stream().readEntity('lease', lease)).toEqual([]);
    // The credential's timer ends it in the log too.
    await eventually(
      () => api<{ items: CredentialView[] }>(cp, 'GET', '/v1/credentials'),
      (l) => l.body.items.some((c) => c.credential_id === issued.credentialId && c.state === 'expired'),
      30_000,
    );
  });
});

describe('FORBIDDEN names the rule and writes nothing', () => {
  it('a viewer sends no command: every public command, over HTTP and NATS, is 403 viewers-watch-only', async () => {
    const vic = await asActor(cp, 'human:vic', 'viewer');
    const vicCred = credentialIdOf(vic.token);
    expect((await api(vic, 'GET', '/v1/shares')).status).toBe(200); // a viewer reads
    const before = await stream().lastStreamSeq();
    const targets: Array<[string, string]> = [];
    for (const { entity, verb } of publicCommands()) {
      const entityId = uid(entity);
      targets.push([entity, entityId]);
      const r = await api<Rejected>(vic, 'POST', `/v1/commands/${entity}/${verb}`, { entityId, data: {} });
      expect(r.status, `${entity}.${verb}`).toBe(403);
      expect(r.body.error, `${entity}.${verb}`).toMatchObject({ code: 'FORBIDDEN', reason: 'viewers-watch-only' });
      const n = await sendCommand(
        nc(),
        entity,
        verb,
        { entityId, data: {} },
        { credential: vic.token, timeoutMs: 30_000 },
      );
      expect(n, `NATS ${entity}.${verb}`).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN', reason: 'viewers-watch-only' },
      });
    }
    const lane = await api<Rejected>(vic, 'POST', '/v1/workspaces/ws1/lanes', {
      project_context_id: 'p',
      display_name: 'v',
    });
    expect(lane.status).toBe(403);
    expect(lane.body.error.reason).toBe('viewers-watch-only');
    expect(await writtenWith(vicCred, before)).toEqual([]);
    for (const [entity, id] of targets) expect(await stream().readEntity(entity, id), `${entity} ${id}`).toEqual([]);
  });

  it("a viewer cannot revoke someone else's share; a member not its owner neither; its owner can", async () => {
    const { term } = await runningTerminal(cp);
    const created = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
    expect(created.status).toBe(201);
    const shareId = (created.body as ShareCreated).share.share_id;
    const vic = await asActor(cp, 'human:vic', 'viewer');
    const bob = await asActor(cp, 'human:bob', 'member');
    const before = await stream().lastStreamSeq();

    const byViewer = await api<Rejected>(vic, 'POST', `/v1/shares/${shareId}/revoke`, { reason: 'mine now' });
    expect(byViewer.status).toBe(403);
    expect(byViewer.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'viewers-watch-only' });
    for (const verb of ['revoke', 'extend', 'invite']) {
      const r = await api<Rejected>(bob, 'POST', `/v1/shares/${shareId}/${verb === 'invite' ? 'participants' : verb}`, {
        ...(verb === 'revoke' ? { reason: 'not mine' } : verb === 'extend' ? { ttl_ms: 60_000 } : { name: 'eve' }),
      });
      expect(r.status, verb).toBe(403);
      expect(r.body.error, verb).toMatchObject({ code: 'FORBIDDEN', reason: 'share-owner-or-operator' });
    }
    expect(
      await stream()
        .readEntity('share', shareId)
        .then((es) => es.filter((e) => e.streamSeq > before)),
    ).toEqual([]);
    expect((await api<{ status: string }>(cp, 'GET', `/v1/shares/${shareId}`)).body.status).toBe('active');

    const byOwner = await as<{ status: string }>(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/revoke`, {
      reason: 'done',
    });
    expect(byOwner.status).toBe(200);
    expect(byOwner.body.status).toBe('ended');
  });

  it('an approval is decided by an operator other than the requester: a member gets operators-decide-approvals, the requester four-eyes', async () => {
    const { term } = await runningTerminal(cp);
    const held = await createShare(cp, 'human:ops', { terminal_id: term.terminal_id });
    expect(held.status).toBe(201);
    const approvalId = (held.body as ShareCreated).share.approval_id!;
    expect(approvalId).toBeTruthy();
    const approval = () => api<{ status: string; decided_by: string | null }>(cp, 'GET', `/v1/approvals/${approvalId}`);
    await eventually(approval, (a) => a.status === 200 && a.body.status === 'pending');
    const before = await stream().lastStreamSeq();

    const member = await as<Rejected>(cp, 'human:bob', 'POST', `/v1/approvals/${approvalId}/approve`, {});
    expect(member.status).toBe(403);
    expect(member.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'operators-decide-approvals' });
    const memberDeny = await as<Rejected>(cp, 'human:bob', 'POST', `/v1/approvals/${approvalId}/deny`, {
      reason: 'no',
    });
    expect(memberDeny.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'operators-decide-approvals' });
    const self = await as<Rejected>(cp, 'human:ops', 'POST', `/v1/approvals/${approvalId}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'four-eyes' });
    expect(
      await stream()
        .readEntity('approval', approvalId)
        .then((es) => es.filter((e) => e.streamSeq > before)),
    ).toEqual([]);
    expect((await approval()).body.status).toBe('pending');

    // Another operator decides.
    const lead = await asActor(cp, 'human:lead', 'operator');
    const ok = await api<{ status: string; decided_by: string }>(lead, 'POST', `/v1/approvals/${approvalId}/approve`, {
      note: 'reviewed',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'approved', decided_by: 'human:lead' });
  });

  it('credentials: only an operator creates one; a member revokes only their own', async () => {
    const bob = await asActor(cp, 'human:bob', 'member');
    const codex = await asActor(cp, 'ai:codex-1', 'agent');
    const before = await stream().lastStreamSeq();
    const create = await api<Rejected>(bob, 'POST', '/v1/credentials', { actor: 'human:bob', role: 'operator' });
    expect(create.status).toBe(403);
    expect(create.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'operators-issue-credentials' });
    const byAgent = await api<Rejected>(codex, 'POST', '/v1/credentials', { actor: 'ai:codex-1', role: 'operator' });
    expect(byAgent.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'agents-act-where-allowed' });
    const ownerCred = credentialIdOf(cp.token);
    const other = await api<Rejected>(bob, 'POST', `/v1/credentials/${ownerCred}/revoke`, {});
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'own-credential-or-operator' });
    expect(await writtenWith(credentialIdOf(bob.token), before)).toEqual([]);
    expect(await writtenWith(credentialIdOf(codex.token), before)).toEqual([]);
    expect((await me(cp)).credential_id).toBe(ownerCred); // the owner's still works
  });

  it('an agent acts only where allowed: no lane of its own', async () => {
    const codex = await asActor(cp, 'ai:codex-1', 'agent');
    const r = await api<Rejected>(codex, 'POST', '/v1/workspaces/ws1/lanes', {
      project_context_id: 'p',
      display_name: 'a',
    });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'agents-act-where-allowed' });
  });
});

describe('the audit trail', () => {
  const audit = async () => {
    const r = await api(cp, 'GET', '/v1/audit?limit=1000');
    expect(r.status).toBe(200);
    return AuditList.parse(r.body).items;
  };

  it('names the authenticated actor, never a forged one, and holds no token', async () => {
    const owner = await me(cp);
    const made = await api<CredentialCreated>(cp, 'POST', '/v1/credentials', { actor: 'human:frank', role: 'viewer' });
    const frankCred = made.body.credential_id;
    await api(cp, 'POST', `/v1/credentials/${frankCred}/revoke`, { reason: 'audit test' });
    const bob = await asActor(cp, 'human:bob', 'member');
    const lane = await api<{ lane_id: string }>(
      bob,
      'POST',
      '/v1/workspaces/ws1/lanes',
      { project_context_id: 'p', display_name: 'audited' },
      { 'x-tether-actor': 'human:mallory' },
    );
    const items = await eventually(
      audit,
      (rs) =>
        ['credential.issue', 'credential.revoke'].every((a) =>
          rs.some((r) => r.entityId === frankCred && r.action === a),
        ) && rs.some((r) => r.entityId === lane.body.lane_id),
    );
    const ownerActor = ActorRef.parse(owner.actor);
    for (const action of ['credential.issue', 'credential.revoke'])
      expect(items.find((r) => r.entityId === frankCred && r.action === action)!.actor, action).toEqual(ownerActor);
    expect(items.find((r) => r.entityId === lane.body.lane_id)!.actor).toEqual({ kind: 'human', id: 'bob' });

    const text = JSON.stringify(items);
    expect(text).not.toContain('tth_');
    for (const token of [cp.token, made.body.token!, bob.token]) {
      expect(text).not.toContain(parseToken(token)!.secret);
      expect(text).not.toContain(hashSecret(parseToken(token)!.secret)); // nor the hash the event keeps
    }
    expect(text).not.toContain('mallory');
  });

  it('names the credential id of each record an authenticated command caused', async () => {
    const bob = await asActor(cp, 'human:bob', 'member');
    const lane = await api<{ lane_id: string }>(bob, 'POST', '/v1/workspaces/ws1/lanes', {
      project_context_id: 'p',
      display_name: 'audited credential',
    });
    const items = await eventually(audit, (rs) => rs.some((r) => r.entityId === lane.body.lane_id));
    const record = items.find((r) => r.entityId === lane.body.lane_id && r.action === 'lane.create');
    expect(record).toMatchObject({ credentialId: credentialIdOf(bob.token) });
  });
});

describe('sign-in links and sessions end with the token that made them', () => {
  it('a dashboard session made from bob’s link stops working the moment bob’s token is revoked', async () => {
    const bob = await api<{ token: string; credential_id: string }>(cp, 'POST', '/v1/credentials', {
      actor: 'human:bob-session',
      role: 'member',
    });
    expect(bob.status).toBe(201);
    const asBob = { url: cp.url, token: bob.body.token };
    const link = await api<{ url: string }>(asBob, 'POST', '/v1/login-links');
    expect(link.status).toBe(201);
    const signIn = await fetch(`${cp.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URLSearchParams(new URL(link.body.url).hash.slice(1)).get('token') }),
    });
    expect(signIn.status).toBe(204);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const me = () =>
      api<{ actor: string; error?: { reason: string } }>(cp, 'GET', '/v1/me', undefined, { authorization: '', cookie });
    expect((await me()).body.actor).toBe('human:bob-session');

    expect((await api(cp, 'POST', `/v1/credentials/${bob.body.credential_id}/revoke`, { reason: 'left' })).status).toBe(
      200,
    );
    const after = await me();
    expect(after.status).toBe(401);
    expect(after.body.error?.reason).toBe('PARENT_CREDENTIAL_ENDED');
  });
});
