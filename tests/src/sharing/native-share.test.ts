import { describe, expect, it } from 'vitest';
import { ShareCreated, ShareView } from '@tether/contracts';
import { readActor } from '@tether/projector';
import { COMMAND_LEDGER_BUCKET, sendCommand } from '@tether/runtime';
import { asActor, bearer, eventually, openViewer, useControlPlane } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from './helpers.ts';

const cp = useControlPlane({
  TETHER_SHARE_POLICY: policyFile(),
  TETHER_SHARE_MIN_TTL_MS: '1000',
  TETHER_SHARE_WARN_MS: '1500',
});
const share = async (id: string) => ShareView.parse((await as(cp, 'human:alice', 'GET', `/v1/shares/${id}`)).body);
/** A participant link on share `shareId`, made as `actor`. */
const invite = async (actor: string, shareId: string, name: string) =>
  (
    await as<{ url: string; participant_id: string }>(cp, actor, 'POST', `/v1/shares/${shareId}/participants`, {
      name,
    })
  ).body;

describe('native share', () => {
  it('a viewer link is read-only; a write grant lets that participant type; kick and revoke disconnect with a reason', async () => {
    const { term, session } = await runningTerminal(cp);
    cp.ctx.store.nc.publish(
      `tether.term.${term.terminal_id}.in`,
      JSON.stringify({ data: 'echo before-share-$((6*7))\r', from: session.session_id }),
    );
    const created = await createShare(cp, 'human:alice', {
      terminal_id: term.terminal_id,
      access: 'write',
      participant: 'bob',
    });
    expect(created.status).toBe(201);
    const { share: s, link } = ShareCreated.parse(created.body);
    expect(s).toMatchObject({
      status: 'active',
      backend: 'native',
      owner: 'human:alice',
      policy: { effect: 'allow', rule_id: 'people' },
    });
    expect(link!.url).toMatch(new RegExp(`/v/${s.share_id}#t=[A-Za-z0-9_-]{43}$`)); // 256-bit token
    expect(Buffer.from(link!.token, 'base64url').length).toBeGreaterThanOrEqual(16);

    // The token is shown once: the stream and the views only have its hash.
    const events = JSON.stringify((await as(cp, 'human:alice', 'GET', `/v1/entities/share/${s.share_id}/events`)).body);
    expect(events).not.toContain(link!.token);
    expect(JSON.stringify(await share(s.share_id))).not.toContain(link!.token);

    const bob = await openViewer(link!.url);
    // A late joiner gets the scrollback, then live output.
    await eventually(
      () => bob.output(),
      (o) => o.includes('before-share-42'),
    );
    expect(bob.messages[0]).toMatchObject({ type: 'welcome', participant_id: link!.participant_id, access: 'read' });
    await eventually(
      () => share(s.share_id),
      (v) => v.participants[0]!.connected,
    );

    bob.type('echo typed-by-bob-$((1+1))\r');
    await eventually(
      () => bob.messages,
      (m) => m.some((x) => x.type === 'refused'),
    );
    // Around the relay, straight onto the terminal's input subject as bob: the terminal checks the
    // grant on the persisted share too, so nothing runs.
    const asBob = (data: string) =>
      cp.ctx.store.nc.publish(
        `tether.term.${term.terminal_id}.in`,
        JSON.stringify({ data, from: `share:${s.share_id}:${link!.participant_id}` }),
      );
    asBob('echo around-relay-$((2+3))\r');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(bob.output()).not.toContain('around-relay-5');
    const grant = await as(
      cp,
      'human:alice',
      'POST',
      `/v1/shares/${s.share_id}/participants/${link!.participant_id}/grant-write`,
      { ttl_ms: 60_000 },
    );
    expect(grant.status).toBe(200);
    await eventually(
      () => bob.messages,
      (m) => m.some((x) => x.type === 'access' && x.access === 'write'),
    );
    bob.type('echo typed-by-bob-$((1+1))\r');
    await eventually(
      () => bob.output(),
      (o) => o.includes('typed-by-bob-2'),
    );
    asBob('echo around-relay-$((2+3))\r'); // with the grant, the terminal takes bob's input from anywhere
    await eventually(
      () => bob.output(),
      (o) => o.includes('around-relay-5'),
    );
    expect(bob.output()).not.toMatch(/typed-by-bob-2[\s\S]*typed-by-bob-2[\s\S]*typed-by-bob-2/); // the refused line never ran

    // Only the owner (or an operator) manages participants.
    const mallory = await as<{ error: { reason: string } }>(
      cp,
      'human:mallory',
      'POST',
      `/v1/shares/${s.share_id}/participants/${link!.participant_id}/revoke-write`,
      {},
    );
    expect(mallory.status).toBe(403);
    expect(mallory.body.error.reason).toBe('share-owner-or-operator');

    // A second participant with their own link; kicking bob leaves carol connected.
    const carolLink = await invite('human:alice', s.share_id, 'carol');
    const carol = await openViewer(carolLink.url, 'browser');
    await eventually(
      () => carol.messages,
      (m) => m.some((x) => x.type === 'welcome'),
    );
    await eventually(
      () => share(s.share_id),
      (v) => v.participants.find((p) => p.name === 'carol')?.connected === true,
    );
    // Bob heard of his own grant, not of carol's invite and join.
    expect(bob.messages.filter((x) => x.type === 'access').map((x) => x.access)).toEqual(['write']);
    await as(cp, 'human:alice', 'POST', `/v1/shares/${s.share_id}/participants/${link!.participant_id}/kick`, {
      reason: 'done watching',
    });
    expect(await bob.closed).toMatchObject({ code: 4403 });
    const again = await openViewer(link!.url);
    expect((await again.closed).code).toBe(4403); // a kicked link stays dead

    const revoked = await as(cp, 'human:alice', 'POST', `/v1/shares/${s.share_id}/revoke`, {
      reason: 'meeting over',
    });
    expect(revoked.body).toMatchObject({
      status: 'ended',
      ended: { reason: 'revoked', detail: 'meeting over', by: 'human:alice' },
    });
    const closed = await carol.closed;
    expect(closed.code).toBe(4410);
    expect(closed.reason).toContain('revoked');
    expect(carol.messages.at(-1)).toMatchObject({ type: 'ended', reason: expect.stringContaining('meeting over') });
    const participants = (await share(s.share_id)).participants;
    expect(participants.find((p) => p.name === 'carol')!.connected).toBe(false);
  });

  it('policy: deny by default with the reason (nothing started), approval held for an operator who is not the requester', async () => {
    const { term } = await runningTerminal(cp);
    const denied = await createShare(cp, 'service:ci', { terminal_id: term.terminal_id });
    expect(denied.status).toBe(409);
    expect(denied.body.error).toMatchObject({ code: 'NOT_ALLOWED', reason: 'SHARE_DENIED' });
    expect(denied.body.error!.message).toMatch(/no rule allows service:ci .* denied by default/);
    const byRule = await createShare(cp, 'human:eve', { terminal_id: term.terminal_id, backend: 'tmate' });
    expect(byRule.body.error!.message).toContain('eve may not use tmate');
    // The denial is on record (audited), and no relay runs for it. The list is a read model: it catches up.
    const deniedOnes = async () =>
      (
        await as<{ items: ShareView[] }>(cp, 'human:alice', 'GET', `/v1/shares?terminal_id=${term.terminal_id}`)
      ).body.items.filter((s) => s.status === 'ended' && s.ended?.reason === 'denied');
    const list = await eventually(deniedOnes, (l) => l.length >= 2);
    expect(list).toHaveLength(2);
    expect(cp.server.relays.size).toBe(0);

    // A request sent straight to the entity cannot bring its own "allow": not from outside (only
    // share.create makes it), and not inside tether either (the host re-decides the policy).
    const forgedRequest = {
      terminalId: term.terminal_id,
      laneId: list[0]!.lane_id,
      backend: 'native',
      access: 'write',
      ttlMs: 60_000,
      maxTtlMs: 4 * 3_600_000,
      warnBeforeMs: 1_500,
      policy: { effect: 'allow', ruleId: 'people', reason: 'trust me' },
    };
    const forged = await sendCommand(
      cp.ctx.store.nc,
      'share',
      'request',
      {
        entityId: 'forged-1',
        data: forgedRequest,
        actor: { kind: 'service', id: 'ci' },
      },
      { credential: cp.token },
    );
    expect(forged).toMatchObject({ ok: false, error: { code: 'NOT_ALLOWED', reason: 'INTERNAL_VERB' } });
    const inside = {
      id: 'forged-cmd-1',
      entity: 'share',
      verb: 'request',
      entityId: 'forged-1',
      data: forgedRequest,
      actor: { kind: 'service' as const, id: 'ci' },
      correlationId: 'c',
      causationId: 'c',
    };
    await expect(cp.server.host.execute(inside)).rejects.toMatchObject({ reason: 'POLICY_MISMATCH' });

    const held = await createShare(cp, 'ai:codex', { terminal_id: term.terminal_id });
    expect(held.status).toBe(201);
    const s = held.body.share;
    expect(s).toMatchObject({ status: 'awaiting_approval', approval_id: s.share_id });
    const viewer = await openViewer(held.body.link!.url);
    await eventually(
      () => viewer.messages,
      (m) => m.some((x) => x.type === 'waiting'),
    );
    // Kicked while waiting for the approval: cut off at once, and never let in with the scrollback.
    const extra = await invite('ai:codex', s.share_id, 'extra');
    const extraViewer = await openViewer(extra.url);
    await eventually(
      () => extraViewer.messages,
      (m) => m.some((x) => x.type === 'waiting'),
    );
    await as(cp, 'ai:codex', 'POST', `/v1/shares/${s.share_id}/participants/${extra.participant_id}/kick`, {});
    expect((await extraViewer.closed).code).toBe(4403);
    await eventually(
      () => as<{ items: Array<{ approval_id: string; status: string }> }>(cp, 'human:ops', 'GET', '/v1/approvals'),
      (r) => r.body.items.some((a) => a.approval_id === s.share_id && a.status === 'pending'),
    );
    // Nobody approves a share around its approval actor: not from outside, and inside only a decision
    // on the share's own approval counts (not one made up for it, naming someone else as requester).
    const sneaky = await sendCommand(
      cp.ctx.store.nc,
      'share',
      'approved',
      {
        entityId: s.share_id,
        data: { approvalId: s.share_id, by: 'human:me' },
        actor: { kind: 'ai', id: 'codex' },
      },
      { credential: cp.token },
    );
    expect(sneaky).toMatchObject({ ok: false, error: { reason: 'INTERNAL_VERB' } });
    const made = await sendCommand(
      cp.ctx.store.nc,
      'approval',
      'request',
      {
        entityId: 'made-up',
        data: {
          shareId: s.share_id,
          requestedBy: { kind: 'ai', id: 'nobody' },
          ruleId: 'x',
          reason: 'x',
          timeoutMs: 60_000,
        },
        actor: { kind: 'ai', id: 'codex' },
      },
      { credential: cp.token },
    );
    expect(made).toMatchObject({ ok: false, error: { reason: 'INTERNAL_VERB' } });
    const step = (
      id: string,
      entity: string,
      verb: string,
      entityId: string,
      data: Record<string, unknown>,
      actor: { kind: 'human' | 'ai'; id: string },
    ) => cp.server.host.execute({ id, entity, verb, entityId, data, actor, correlationId: id, causationId: id });
    await step(
      'made-up-1',
      'approval',
      'request',
      'made-up',
      { shareId: s.share_id, requestedBy: { kind: 'ai', id: 'nobody' }, ruleId: 'x', reason: 'x', timeoutMs: 60_000 },
      { kind: 'ai', id: 'codex' },
    );
    await step('made-up-2', 'approval', 'approve', 'made-up', {}, { kind: 'human', id: 'codex-friend' });
    await expect(
      step(
        'made-up-3',
        'share',
        'approved',
        s.share_id,
        { approvalId: 'made-up', by: 'human:codex-friend' },
        { kind: 'ai', id: 'codex' },
      ),
    ).rejects.toMatchObject({ reason: 'APPROVAL_NOT_DECIDED' });
    expect((await share(s.share_id)).status).toBe('awaiting_approval');
    const self = await as<{ error: { reason: string } }>(
      cp,
      'ai:codex',
      'POST',
      `/v1/approvals/${s.share_id}/approve`,
      {},
    );
    expect(self.body.error.reason).toBe('agents-act-where-allowed'); // an agent decides nothing, its own request least
    const ok = await as(cp, 'human:ops', 'POST', `/v1/approvals/${s.share_id}/approve`, {
      note: 'pairing session',
    });
    expect(ok.body).toMatchObject({ status: 'approved', decided_by: 'human:ops' });
    await eventually(
      () => share(s.share_id),
      (v) => v.status === 'active',
    );
    await eventually(
      () => viewer.messages,
      (m) => m.some((x) => x.type === 'welcome'),
    ); // the waiting viewer is let in

    const other = await createShare(cp, 'ai:codex', { terminal_id: term.terminal_id });
    await eventually(
      () => as<{ items: Array<{ approval_id: string }> }>(cp, 'human:ops', 'GET', '/v1/approvals'),
      (r) => r.body.items.some((a) => a.approval_id === other.body.share.share_id),
    );
    await as(cp, 'human:ops', 'POST', `/v1/approvals/${other.body.share.share_id}/deny`, { reason: 'not on prod' });
    const ended = await eventually(
      () => share(other.body.share.share_id),
      (v) => v.status === 'ended',
    );
    expect(ended.ended).toMatchObject({ reason: 'denied', detail: expect.stringContaining('not on prod') });
    viewer.close();
  });

  it('the front door: nobody outside speaks as the system, sends a worker report or takes a slot, or replays a command id for a link', async () => {
    const { term } = await runningTerminal(cp);
    const created = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
    const { share: s } = ShareCreated.parse(created.body);
    const nc = cp.ctx.store.nc;

    // Nobody outside speaks as the system actor (tether's own): an actor in the body is ignored, over
    // HTTP and NATS, and the command is the credential's.
    const [alice, mallory] = [await asActor(cp, 'human:alice', 'member'), await asActor(cp, 'human:mallory', 'member')];
    const asSystem = await fetch(`${cp.url}/v1/commands/share/invite`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(alice) },
      body: JSON.stringify({ entityId: s.share_id, data: { name: 'mallory' }, actor: { kind: 'system', id: 'x' } }),
    });
    expect(asSystem.status).toBe(200);
    const invite = (await cp.ctx.store.readEntity('share', s.share_id)).findLast(
      (e) => e.event.type === 'share.invite',
    );
    expect(invite?.event.actor).toEqual({ kind: 'human', id: 'alice' });
    expect(
      await sendCommand(
        nc,
        'share',
        'grantWrite',
        {
          entityId: s.share_id,
          data: { participantId: 'p-x', ttlMs: 60_000 },
          actor: { kind: 'system', id: 'x' },
        },
        { credential: cp.token },
      ),
    ).toMatchObject({ ok: false, error: { code: 'NOT_ALLOWED' } }); // refused as the owner's, for the participant

    // Worker and timer reports, and the terminal's slots, are tether's own too.
    for (const [entity, verb, entityId, data] of [
      ['share', 'failed', s.share_id, { reason: 'fake' }],
      ['share', 'terminate', s.share_id, { reason: 'fake' }],
      ['share', 'expire', s.share_id, {}],
      ['terminal', 'shareOpen', term.terminal_id, { shareId: 'sh-extra', limit: 100 }],
      ['terminal', 'shareClose', term.terminal_id, { shareId: s.share_id }],
    ] as const) {
      expect(
        await sendCommand(
          nc,
          entity,
          verb,
          { entityId, data, actor: { kind: 'service', id: 'ci' } },
          { credential: cp.token },
        ),
        `${entity}.${verb}`,
      ).toMatchObject({ ok: false, error: { reason: 'INTERNAL_VERB' } });
    }
    expect((await share(s.share_id)).status).toBe('active');

    // A command id is no secret (it is the events' correlation id): replaying it as someone else
    // gets no token, neither for the first link nor for an invite.
    const events = (
      await as<Array<{ correlationId: string; type: string }>>(
        cp,
        'human:alice',
        'GET',
        `/v1/entities/share/${s.share_id}/events`,
      )
    ).body;
    const createId = events.find((e) => e.type === 'share.invite')!.correlationId;
    const replay = await fetch(`${cp.url}/v1/shares`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': createId, ...bearer(mallory) },
      body: JSON.stringify({ terminal_id: term.terminal_id }),
    });
    const replayBody = await replay.text();
    expect(replay.status).toBe(409);
    expect(replayBody).toContain('COMMAND_ID_REUSED'); // the ledger knows the id was alice's ...
    expect(replayBody).not.toMatch(/alice|share\.create|sh-/); // ... and tells mallory nothing about her command
    expect(replayBody).not.toContain(created.body.link!.token);
    const invited = await fetch(`${cp.url}/v1/shares/${s.share_id}/participants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'invite-1', ...bearer(alice) },
      body: JSON.stringify({ name: 'bob' }),
    });
    const bobToken = ((await invited.json()) as { token: string }).token;
    const stolen = await fetch(`${cp.url}/v1/shares/${s.share_id}/participants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'invite-1', ...bearer(mallory) },
      body: JSON.stringify({ name: 'bob' }),
    });
    expect(stolen.status).toBe(403); // the rules refuse her before the command id is even looked up
    expect(await stolen.text()).not.toContain(bobToken);
    // The owner's own resend is still answered with the same link (a retry after a lost reply).
    const again = await fetch(`${cp.url}/v1/shares/${s.share_id}/participants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'invite-1', ...bearer(alice) },
      body: JSON.stringify({ name: 'bob' }),
    });
    expect(((await again.json()) as { token: string }).token).toBe(bobToken);
    // The command ledger keeps these ids, never the tokens their replies carried.
    const ledger = await cp.ctx.store.kv(COMMAND_LEDGER_BUCKET);
    const kept = JSON.stringify(await Promise.all((await ledger.keys()).map((k) => ledger.get(k))));
    expect(kept).toContain('"entity":"share","verb":"invite"');
    for (const token of [created.body.link!.token, bobToken]) expect(kept).not.toContain(token);
    await as(cp, 'human:alice', 'POST', `/v1/shares/${s.share_id}/revoke`, {});
  });

  it('at most 3 live shares per terminal; the fourth is refused with the reason; revoking frees a slot', async () => {
    const { term } = await runningTerminal(cp);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
      expect(r.status).toBe(201);
      ids.push(r.body.share.share_id);
    }
    const fourth = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
    expect(fourth.status).toBe(409);
    expect(fourth.body.error).toMatchObject({ reason: 'TERMINAL_SHARE_LIMIT' });
    expect(fourth.body.error!.message).toContain('the limit is 3');
    await as(cp, 'human:alice', 'POST', `/v1/shares/${ids[0]}/revoke`, {});
    await eventually(
      () => createShare(cp, 'human:alice', { terminal_id: term.terminal_id }),
      (r) => r.status === 201,
    );
  });

  it('share.create naming a share that exists is refused and leaves no slot taken on the other terminal', async () => {
    const [a, b] = [await runningTerminal(cp), await runningTerminal(cp)];
    const nc = cp.ctx.store.nc;
    const alice = { kind: 'human' as const, id: 'alice' };
    const shareId = `sh-taken-${a.term.terminal_id}`;
    const create = (terminalId: string) =>
      sendCommand(
        nc,
        'share',
        'create',
        { entityId: shareId, data: { terminal_id: terminalId }, actor: alice },
        { credential: cp.token },
      );
    expect(await create(a.term.terminal_id)).toMatchObject({ ok: true, entityId: shareId });
    expect(await create(b.term.terminal_id)).toMatchObject({ ok: false, error: { code: 'ALREADY_EXISTS' } });
    const slots = async (id: string) => (await readActor(cp.server.host, 'terminal', id))?.context.shares ?? [];
    expect(await slots(b.term.terminal_id)).toEqual([]);
    expect(await slots(a.term.terminal_id)).toEqual([shareId]);
  });

  it('TTL: bad values refused; a grace warning reaches viewers; expiry ends the share and closes them; extend after expiry is a clear error', async () => {
    const { term } = await runningTerminal(cp);
    for (const ttl of [10, 5 * 3_600_000]) {
      const bad = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, ttl_ms: ttl });
      expect(bad.status).toBe(400);
      expect(bad.body.error!.message).toMatch(/outside 1000 ms … 14400000 ms/);
    }
    const r = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, ttl_ms: 3_000 });
    const s = r.body.share;
    const viewer = await openViewer(r.body.link!.url);
    const tooLong = await as<{ error: { reason: string } }>(
      cp,
      'human:alice',
      'POST',
      `/v1/shares/${s.share_id}/extend`,
      { ttl_ms: 4 * 3_600_000 },
    );
    expect(tooLong.body.error.reason).toBe('SHARE_TTL_MAX');
    const extended = await as<ShareView>(cp, 'human:alice', 'POST', `/v1/shares/${s.share_id}/extend`, {
      ttl_ms: 1_000,
    });
    expect(Date.parse(extended.body.expires_at!)).toBe(Date.parse(s.expires_at!) + 1_000);
    await eventually(
      () => viewer.messages,
      (m) => m.some((x) => x.type === 'warning'),
    );
    await eventually(
      () => share(s.share_id),
      (v) => v.status === 'expiring' || v.status === 'ended',
    );
    const closed = await viewer.closed;
    expect(closed).toMatchObject({ code: 4410, reason: expect.stringContaining('expired') });
    expect((await share(s.share_id)).ended).toMatchObject({ reason: 'expired' });
    const late = await as<{ error: { reason: string; message: string } }>(
      cp,
      'human:alice',
      'POST',
      `/v1/shares/${s.share_id}/extend`,
      { ttl_ms: 60_000 },
    );
    expect(late.status).toBe(409);
    expect(late.body.error.reason).toBe('SHARE_EXPIRED');
    expect(late.body.error.message).toMatch(/expired at .*extend is not possible, create a new share/);

    // A share that starts inside its grace period (1.2 s left, warning at 1.5 s) is still warned, on record.
    const short = (await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, ttl_ms: 1_200 })).body.share;
    await eventually(
      () => share(short.share_id),
      (v) => v.status === 'ended',
    );
    const types = (
      await as<Array<{ type: string }>>(cp, 'human:alice', 'GET', `/v1/entities/share/${short.share_id}/events`)
    ).body.map((e) => e.type);
    expect(types.indexOf('share.warn')).toBeGreaterThan(types.indexOf('share.started'));
    expect(types.indexOf('share.warn')).toBeLessThan(types.indexOf('share.expire'));
  });

  it('an extend racing the expiry has exactly one winner', async () => {
    const { term } = await runningTerminal(cp);
    for (let round = 0; round < 3; round++) {
      const s = (await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, ttl_ms: 1_000 })).body.share;
      await new Promise((res) => setTimeout(res, Date.parse(s.expires_at!) - Date.now() - 5));
      const ext = await as<ShareView & { error?: { reason: string } }>(
        cp,
        'human:alice',
        'POST',
        `/v1/shares/${s.share_id}/extend`,
        { ttl_ms: 60_000 },
      );
      await eventually(
        () => share(s.share_id),
        (v) => v.status !== 'starting',
      );
      await new Promise((res) => setTimeout(res, 300));
      const after = await share(s.share_id);
      if (ext.status === 200) expect(after.status).toBe('active');
      else {
        expect(ext.body.error!.reason).toMatch(/SHARE_EXPIRED/);
        expect(after.ended?.reason).toBe('expired');
      }
      await as(cp, 'human:alice', 'POST', `/v1/shares/${s.share_id}/revoke`, {});
    }
  });

  it('closing the terminal ends its shares (terminated) and disconnects their viewers', async () => {
    const { term, lane } = await runningTerminal(cp);
    const r = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
    const viewer = await openViewer(r.body.link!.url);
    await eventually(
      () => viewer.messages,
      (m) => m.some((x) => x.type === 'welcome'),
    );
    await sendCommand(
      cp.ctx.store.nc,
      'terminal',
      'close',
      { entityId: term.terminal_id, data: { reason: 'done' } },
      { credential: cp.token },
    );
    expect((await viewer.closed).code).toBe(4410);
    const s = await eventually(
      () => share(r.body.share.share_id),
      (v) => v.status === 'ended',
    );
    expect(s.ended).toMatchObject({
      reason: 'terminated',
      detail: expect.stringContaining(`terminal ${term.terminal_id} closed`),
    });
    expect(lane.lane_id).toBe(s.lane_id);
  });

  it('works over NATS too: tether.cmd.share.create answers with the share and the link', async () => {
    const { term } = await runningTerminal(cp);
    const r = await sendCommand(
      cp.ctx.store.nc,
      'share',
      'create',
      { data: { terminal_id: term.terminal_id } },
      { credential: (await asActor(cp, 'human:alice', 'member')).token },
    );
    expect(r).toMatchObject({
      ok: true,
      entity: 'share',
      result: {
        share: { status: expect.stringMatching(/^(starting|active)$/), owner: 'human:alice' },
        link: { url: expect.stringContaining('#t=') },
      },
    });
    const id = (r as { entityId: string }).entityId;
    await eventually(
      () => share(id),
      (v) => v.status === 'active',
    );
    const revoked = await sendCommand(
      cp.ctx.store.nc,
      'share',
      'revoke',
      {
        entityId: id,
        data: { reason: 'over nats' },
        actor: { kind: 'human', id: 'alice' },
      },
      { credential: cp.token },
    );
    expect(revoked).toMatchObject({ ok: true, state: 'ended' });
  });

  it('bad input: unknown terminal, bad backend, bad token, unknown share', async () => {
    expect((await createShare(cp, 'human:alice', { terminal_id: 'nope' })).status).toBe(404);
    const { term } = await runningTerminal(cp);
    const bad = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, backend: 'ssh' });
    expect(bad.status).toBe(400);
    const r = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
    const forged = await openViewer(r.body.link!.url.replace(/#t=.*/, `#t=${'A'.repeat(43)}`));
    expect(await forged.closed).toMatchObject({ code: 4401 });
    const unknown = await openViewer(r.body.link!.url.replace(r.body.share.share_id, 'no-such-share'));
    expect((await unknown.closed).code).toBe(4404);
    expect((await as(cp, 'human:alice', 'GET', '/v1/shares/no-such-share')).status).toBe(404);
  });
});
