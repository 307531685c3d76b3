import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import {
  AuditList,
  AuditVerdict,
  ShareCreated,
  ShareEndDetails,
  ShareExtendDetails,
  ShareGrantDetails,
  ShareStartDetails,
  auditSubjects,
  type AuditRecord,
  type EventEnvelope,
} from '@tether/contracts';
import { canonicalJson } from '@tether/projector';
import { api, eventually, openViewer, runCli, useControlPlane } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

// The share starts inside its warning window (TTL 1 min, warning 5 min before the end): the timer
// fires `share.warn` at once, so the trail holds a timer report too.
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile(), TETHER_SHARE_WARN_MS: '300000' });

/** Built at run time: no credential-shaped literal in the source. */
const githubToken = `ghp_${'Zq8Lm3Xv0Tn6Rb2Wy5Kc'.repeat(2).slice(0, 36)}`;

const auditOf = async (shareId: string) =>
  AuditList.parse((await api(cp, 'GET', `/v1/audit?entity=share&entity_id=${shareId}&after=0&limit=1000`)).body).items;
const eventsOf = async (shareId: string) =>
  (await api<EventEnvelope[]>(cp, 'GET', `/v1/entities/share/${shareId}/events`)).body;
const one = (records: AuditRecord[], action: string) => {
  const found = records.filter((r) => r.action === action);
  expect(
    found.map((r) => r.action),
    `one ${action} record`,
  ).toEqual([action]);
  return found[0]!;
};

describe('audit trail of a share (seed 000, T013)', () => {
  it('create → extend → grant → revoke: each record says what an investigator needs, and every one carries the share’s correlation id', async () => {
    const { term, lane } = await runningTerminal(cp);
    const created = await createShare(cp, 'human:alice', {
      terminal_id: term.terminal_id,
      access: 'write',
      participant: 'bob',
      ttl_ms: 60_000,
    });
    expect(created.status).toBe(201);
    const { share, link } = ShareCreated.parse(created.body);
    const shareId = share.share_id;
    const shareCorrelation = (await eventsOf(shareId))[0]!.correlationId;

    // A viewer is connected when the share is revoked: the relay reports the join.
    const bob = await openViewer(link!.url);
    await eventually(
      () => eventsOf(shareId),
      (es) => es.some((e) => e.type === 'share.joined'),
    );
    await eventually(
      () => auditOf(shareId),
      (rs) => rs.some((r) => r.action === 'share.warn'),
    );
    const extended = await as(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/extend`, { ttl_ms: 120_000 });
    expect(extended.status).toBe(200);
    const grant = await as(
      cp,
      'human:alice',
      'POST',
      `/v1/shares/${shareId}/participants/${link!.participant_id}/grant-write`,
      { ttl_ms: 30_000 },
    );
    expect(grant.status).toBe(200);
    const revoked = await as(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/revoke`, {
      reason: `meeting over; bob pasted ${githubToken} in chat`,
    });
    expect(revoked.status).toBe(200);
    expect(await bob.closed).toMatchObject({ code: expect.any(Number) });

    const records = await eventually(
      () => auditOf(shareId),
      (rs) => rs.some((r) => r.action === 'share.revoke'),
    );
    const events = await eventsOf(shareId);
    expect(records.map((r) => r.eventId)).toEqual(events.map((e) => e.id)); // one record per event

    // Its start: terminal, backend, TTL, owner.
    const request = one(records, 'share.request');
    const start = ShareStartDetails.parse(request.details);
    expect(start).toMatchObject({
      owner: 'human:alice',
      terminalId: term.terminal_id,
      laneId: lane.lane_id,
      backend: 'native',
      access: 'write',
      ttlMs: 60_000,
    });
    expect(Date.parse(start.expiresAt!) - Date.parse(request.at)).toBe(60_000);
    expect(ShareStartDetails.parse(one(records, 'share.started').details)).toEqual(start);

    // An extension: the expiry before and after.
    const extend = one(records, 'share.extend');
    expect(ShareExtendDetails.parse(extend.details)).toEqual({
      previousExpiresAt: start.expiresAt,
      expiresAt: new Date(Date.parse(start.expiresAt!) + 120_000).toISOString(),
      addedMs: 120_000,
    });

    // A grant: who may type, and until when.
    const granted = one(records, 'share.grantWrite');
    expect(ShareGrantDetails.parse(granted.details)).toEqual({
      participantId: link!.participant_id,
      participant: 'bob',
      writeUntil: new Date(Date.parse(granted.at) + 30_000).toISOString(),
    });

    // The revoke ends it: who, why (redacted), how long it ran, how many viewers were cut off.
    const revoke = one(records, 'share.revoke');
    const started = one(records, 'share.started');
    expect(revoke.actor).toEqual({ kind: 'human', id: 'alice' });
    expect(ShareEndDetails.parse(revoke.details)).toEqual({
      endReason: 'revoked',
      endDetail: 'meeting over; bob pasted [redacted] in chat',
      endedBy: 'human:alice',
      startedAt: started.at,
      durationMs: Date.parse(revoke.at) - Date.parse(started.at),
      viewersDisconnected: 1,
    });
    expect(revoke.reason).toBe('meeting over; bob pasted [redacted] in chat');

    // One id across the share's life: requests, the timer, the relay and the backend's reports alike.
    for (const r of records) expect(r.originCorrelationId, r.action).toBe(shareCorrelation);
    const reports = records.filter((r) => r.actor.kind === 'system');
    expect(reports.map((r) => `${r.actor.id} ${r.action}`)).toEqual(
      expect.arrayContaining(['timer share.warn', 'relay share.joined', 'worker:share_runner share.started']),
    );
    for (const r of reports) expect(r.correlationId, `${r.actor.id} ${r.action}`).toBe(shareCorrelation);

    // No credential anywhere in the share's trail.
    expect(JSON.stringify(records)).not.toContain(githubToken);
    expect(JSON.stringify(records)).not.toContain(link!.token);
  });

  it('a token in a free-text field is redacted before it reaches the stream', async () => {
    const { term } = await runningTerminal(cp);
    const { share } = ShareCreated.parse(
      (
        await createShare(cp, 'human:alice', {
          terminal_id: term.terminal_id,
          participant: `dave ${githubToken}`,
        })
      ).body,
    );
    await as(cp, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, {
      reason: `rotating ${githubToken} now`,
    });
    // Read back from the stream itself, not through a view.
    const stored = await cp.ctx.store.readEntity('share', share.share_id);
    const data = (type: string) => stored.find((e) => e.event.type === type)!.event.data;
    expect(data('share.invite')).toMatchObject({ name: 'dave [redacted]' });
    expect(data('share.revoke')).toEqual({ reason: 'rotating [redacted] now' });
    expect(JSON.stringify(stored)).not.toContain(githubToken);
  });

  it('the chain is keyed: a forged append with a recomputed plain sha256 is caught by `tether audit verify`', async () => {
    const keyFile = join(cp.home, 'audit.key');
    expect((statSync(keyFile).mode & 0o777).toString(8)).toBe('600');
    expect(AuditVerdict.parse((await api(cp, 'GET', '/v1/audit/verify')).body)).toMatchObject({ ok: true });

    // Someone who may publish on tether.audit.> appends a record right after the last one, copied
    // from the trail, with a content change and a correctly recomputed (unkeyed) hash.
    const js = jetstream(cp.ctx.store.nc);
    let forgedSeq = 0;
    await eventually(
      async () => {
        const [last] = AuditList.parse((await api(cp, 'GET', '/v1/audit?limit=1')).body).items;
        const { hash: _h, ...forged } = {
          ...last!,
          seq: last!.seq + 1,
          prevHash: last!.hash,
          eventId: `forged-${last!.seq}`,
          actor: { kind: 'human' as const, id: 'mallory' },
          reason: 'nothing happened here',
        };
        const hash = createHash('sha256').update(canonicalJson(forged)).digest('hex');
        const body = JSON.stringify({ ...forged, hash });
        const ack = await js
          .publish(auditSubjects.record('share', 'revoke'), body, { expect: { lastSequence: last!.seq } })
          .catch(() => undefined); // the projector appended meanwhile: copy the new last record
        forgedSeq = ack?.seq ?? 0;
        return forgedSeq;
      },
      (seq) => seq > 0,
    );

    const verdict = AuditVerdict.parse((await api(cp, 'GET', '/v1/audit/verify')).body);
    expect(verdict).toMatchObject({
      ok: false,
      records: forgedSeq - 1,
      brokenAt: forgedSeq,
      why: expect.stringMatching(/audit key/),
    });
    const cli = await runCli(cp, ['audit', 'verify']);
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toContain(`audit chain BROKEN at record ${forgedSeq}`);
  });
});
