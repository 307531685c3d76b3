import { beforeAll, describe, expect, it } from 'vitest';
import { AuditList, ApprovalView, EntityReplay, ErrorBody, Page, ShareView } from '@tether/contracts';
import { api, eventually, useControlPlane } from '../harness/index.ts';
import { historyScenario } from './history-scenario.ts';
import { as, policyFile } from './helpers.ts';

// The history queries the dashboard's views read: shares and approvals filtered, searched and paged from
// the read model, a lane's audit trail, and an entity's replay with its state after each event.

const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
let h: Awaited<ReturnType<typeof historyScenario>>;
beforeAll(async () => {
  h = await historyScenario(cp, 'h1');
}, 120_000);

const SharePage = Page(ShareView);
const shares = async (q: string) => {
  const r = await api(cp, 'GET', `/v1/shares?terminal_id=${h.term.terminal_id}&${q}`);
  expect(r.status, q).toBe(200);
  return SharePage.parse(r.body);
};
const ids = async (q: string) => (await shares(q)).items.map((s) => s.share_id).sort();
const refused = async (path: string) => {
  const r = await api<{ ok: boolean; error: unknown }>(cp, 'GET', path);
  expect(r.status, path).toBe(400);
  return ErrorBody.parse(r.body.error);
};

describe('GET /v1/shares: history', () => {
  it('filters by status, reason, backend, owner and time, and searches ids, participant names and reasons', async () => {
    const all = [h.revokedId, h.eveId, h.heldId].sort();
    expect(await ids('status=ended')).toEqual(all);
    expect(await ids('status=live')).toEqual([]);
    expect(await ids('status=denied')).toEqual([h.eveId, h.heldId].sort());
    expect(await ids('reason=revoked')).toEqual([h.revokedId]);
    expect(await ids('backend=tmate')).toEqual([h.eveId]);
    expect(await ids('owner=ai:codex')).toEqual([h.heldId]);
    expect(await ids(`q=${h.erinName.toUpperCase()}`)).toEqual([h.revokedId]); // a participant's name, any case
    expect(await ids(`q=${h.revokedId.slice(0, 6)}`)).toContain(h.revokedId); // an id prefix
    expect(await ids('q=may%20not%20use%20tmate')).toEqual([h.eveId]); // the policy's reason
    expect(await ids('q=not%20today%20h1')).toEqual([h.heldId]); // the operator's reason for the denial
    expect(await ids('q=nothing-like-this')).toEqual([]);
    expect(await ids(`until=${encodeURIComponent('2020-01-01T00:00:00Z')}`)).toEqual([]);
    expect(await ids(`since=${encodeURIComponent('2020-01-01T00:00:00Z')}&status=ended`)).toEqual(all);
    const revoked = (await shares('reason=revoked')).items[0]!;
    expect(revoked.ended).toMatchObject({ reason: 'revoked', detail: 'demo over h1', by: 'human:alice' });
    expect(revoked.participants.map((p) => p.name)).toContain(h.erinName);
  });

  it('pages the most recently changed first; each page starts after the one before, the last has no cursor', async () => {
    const first = await shares('status=ended&limit=2');
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).toMatch(/^\d+$/);
    const second = await shares(`status=ended&limit=2&cursor=${first.next_cursor}`);
    expect(second.items).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    const paged = [...first.items, ...second.items].map((s) => s.share_id);
    expect(new Set(paged).size).toBe(3);
    // Codex's share was changed last (denied after the others ended).
    expect(paged[0]).toBe(h.heldId);
  });

  it('refuses bad queries with 400 INVALID_COMMAND saying what is wrong, and lists nothing', async () => {
    const cases: Array<[string, RegExp]> = [
      ['status=bogus', /status/],
      ['reason=tired', /reason/],
      ['backend=ssh', /backend/],
      ['owner=alice', /an owner is "kind:id"/],
      ['since=yesterday', /since/],
      ['limit=0', /limit/],
      ['limit=501', /limit/],
      ['cursor=abc', /a cursor is the next_cursor of the page before/],
      ['live=true&status=ended', /live=true asks for live shares/],
      ['status=denied&reason=expired', /status=denied and reason=expired contradict/],
      ['status=live&reason=revoked', /a live share has no end reason/],
      [
        `since=${encodeURIComponent('2030-01-01T00:00:00Z')}&until=${encodeURIComponent('2020-01-01T00:00:00Z')}`,
        /until must be after since/,
      ],
      ['unknown=1', /unknown/i],
    ];
    for (const [q, message] of cases) {
      const e = await refused(`/v1/shares?${q}`);
      expect(e.code, q).toBe('INVALID_COMMAND');
      expect(e.message, q).toMatch(/^invalid share list query: /);
      expect(e.message, q).toMatch(message);
    }
  });
});

describe('GET /v1/approvals: history', () => {
  it('filters by status and searches the requester and the decision note; bad status is 400', async () => {
    const page = Page(ApprovalView).parse((await api(cp, 'GET', '/v1/approvals?status=denied&q=today%20h1')).body);
    expect(page.items.map((a) => a.approval_id)).toEqual([h.heldId]);
    expect(page.items[0]).toMatchObject({
      requested_by: 'ai:codex',
      decided_by: 'human:ops',
      decision_note: 'not today h1',
    });
    const pending = Page(ApprovalView).parse((await api(cp, 'GET', '/v1/approvals?status=pending')).body);
    expect(pending.items.map((a) => a.approval_id)).not.toContain(h.heldId);
    const e = await refused('/v1/approvals?status=maybe');
    expect(e).toMatchObject({
      code: 'INVALID_COMMAND',
      message: expect.stringMatching(/^invalid approval list query: status/),
    });
  });
});

describe('GET /v1/audit?lane_id=', () => {
  it("lists what happened to the lane and what belongs to it, and nothing of another lane's", {
    timeout: 150_000,
  }, async () => {
    const other = await historyScenario(cp, 'h2');
    const actions = await eventually(
      async () => AuditList.parse((await api(cp, 'GET', `/v1/audit?lane_id=${h.lane.lane_id}&limit=1000`)).body).items,
      (items) => items.some((r) => r.action === 'approval.deny'),
      60_000,
    );
    const mine = new Set([h.lane.lane_id, h.term.terminal_id, h.revokedId, h.eveId, h.heldId]);
    expect(actions.some((r) => r.entity === 'lane' && r.action === 'lane.create')).toBe(true);
    expect(actions.some((r) => r.entity === 'terminal')).toBe(true);
    expect(actions.some((r) => r.entityId === h.heldId && r.entity === 'approval')).toBe(true);
    expect(actions.filter((r) => r.entity !== 'session').every((r) => mine.has(r.entityId))).toBe(true);
    for (const id of [other.lane.lane_id, other.revokedId]) expect(actions.some((r) => r.entityId === id)).toBe(false);
    expect(actions.map((r) => r.seq)).toEqual([...actions.map((r) => r.seq)].sort((a, b) => a - b)); // oldest first
    const unknown = await api<{ error: unknown }>(cp, 'GET', '/v1/audit?lane_id=no-such-lane');
    expect(unknown.status).toBe(404);
    expect(ErrorBody.parse(unknown.body.error)).toMatchObject({
      code: 'NOT_FOUND',
      message: 'lane no-such-lane does not exist',
    });
  });
});

describe('GET /v1/entities/{entity}/{id}/replay', () => {
  it("gives each event with the state and context after it, without the participants' token hashes", async () => {
    const r = EntityReplay.parse((await as(cp, 'human:alice', 'GET', `/v1/entities/share/${h.revokedId}/replay`)).body);
    expect(r.steps.length).toBe(r.total);
    const states = r.steps.map((s) => s.state);
    expect(states[0]).toBe('starting');
    expect(states).toContain('active');
    expect(states.at(-1)).toBe('ended');
    const invited = r.steps.findIndex((s) => s.type === 'share.invite' && s.data.name === h.erinName);
    expect(invited).toBeGreaterThan(0);
    const names = (i: number) =>
      Object.values(r.steps[i]!.context.participants as Record<string, { name: string }>).map((p) => p.name);
    expect(names(invited - 1)).not.toContain(h.erinName);
    expect(names(invited)).toContain(h.erinName);
    expect(r.steps[invited]!.data.tokenHash).toBe('[redacted]');
    expect(JSON.stringify(r.steps.map((s) => s.context))).not.toMatch(/tokenHash|sealedLinks/);

    const one = EntityReplay.parse((await api(cp, 'GET', `/v1/entities/share/${h.revokedId}/replay?to_seq=1`)).body);
    expect(one.steps.map((s) => s.state)).toEqual(['starting']);
    expect(one.total).toBe(r.total);
    expect((await refused(`/v1/entities/share/${h.revokedId}/replay?to_seq=0`)).message).toMatch(
      /^invalid replay query: to_seq/,
    );
    const none = await api<{ error: unknown }>(cp, 'GET', '/v1/entities/share/no-such-share/replay');
    expect(none.status).toBe(404);
  });
});
