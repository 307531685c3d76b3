import { describe, expect, it } from 'vitest';
import { ActorState, LaneView, type ParticipantView, ShareCreated, ShareView } from '@tether/contracts';
import { api, eventually, runCli, useControlPlane } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

// Any unique prefix of an id works wherever a route takes one (the gateway's id-prefixes.ts), through
// the API and through the CLI, which passes ids on as typed.
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });

type Refused = { ok: false; error: { code: string; message: string; issues?: { path: string[]; message: string }[] } };

describe('id prefixes', () => {
  it('resolve to the one share, participant, lane or entity they start; several is AMBIGUOUS_ID; none NOT_FOUND', async () => {
    const { lane, term } = await runningTerminal(cp);
    const { share, link } = ShareCreated.parse(
      (await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, access: 'write', participant: 'bob' }))
        .body,
    );
    const sp = share.share_id.slice(0, 8);

    const shown = await as(cp, 'human:alice', 'GET', `/v1/shares/${sp}`);
    expect(ShareView.parse(shown.body).share_id).toBe(share.share_id);
    // A participant's prefix within the share's prefix, with or without its "p-".
    const granted = await as(
      cp,
      'human:alice',
      'POST',
      `/v1/shares/${sp}/participants/${link!.participant_id.slice(2, 8)}/grant-write`,
      {
        ttl_ms: 60_000,
      },
    );
    expect(granted.status).toBe(200);
    const bob = (await as<{ items: ParticipantView[] }>(cp, 'human:alice', 'GET', `/v1/shares/${sp}/participants`)).body
      .items[0]!;
    expect(bob).toMatchObject({ participant_id: link!.participant_id, access: 'write' });

    const laneShown = await api(cp, 'GET', `/v1/workspaces/ws1/lanes/${lane.lane_id.slice(0, 6)}`);
    expect(LaneView.parse(laneShown.body).lane_id).toBe(lane.lane_id);
    const termShown = await api(cp, 'GET', `/v1/entities/terminal/${term.terminal_id.slice(0, 10)}`);
    expect(ActorState.parse(termShown.body).entityId).toBe(term.terminal_id);

    // Two leases whose ids start alike: their common prefix is ambiguous, each whole id is not.
    for (const id of ['amb-1f00', 'amb-2f00'])
      expect((await api(cp, 'POST', '/v1/commands/lease/create', { entityId: id, data: { holder: 'x' } })).status).toBe(
        201,
      );
    const ambiguous = await eventually(
      () => api<Refused>(cp, 'GET', '/v1/entities/lease/amb-'),
      (r) => r.status === 409,
    );
    expect(ambiguous.body.error.code).toBe('AMBIGUOUS_ID');
    expect(ambiguous.body.error.message).toMatch(
      /"amb-" starts 2 lease ids \(amb-1f00, amb-2f00\); give more characters/,
    );
    expect(ambiguous.body.error.issues?.map((i) => i.message)).toEqual(['amb-1f00', 'amb-2f00']);
    expect(ActorState.parse((await api(cp, 'GET', '/v1/entities/lease/amb-2')).body).entityId).toBe('amb-2f00');
    expect(ActorState.parse((await api(cp, 'GET', '/v1/entities/lease/amb-1f00')).body).entityId).toBe('amb-1f00');

    // An unknown prefix, and one too short to be taken as a prefix, stay unknown ids.
    for (const path of [
      '/v1/shares/ffffffff-none',
      `/v1/shares/${share.share_id.slice(0, 3)}`,
      '/v1/entities/lease/amb',
    ])
      expect((await api<Refused>(cp, 'GET', path)).body.error.code).toBe('NOT_FOUND');
  });

  it('tether share show takes an 8-character prefix', async () => {
    const { term } = await runningTerminal(cp);
    const { share } = ShareCreated.parse((await createShare(cp, 'human:ops', { terminal_id: term.terminal_id })).body);
    const r = await runCli(cp, ['share', 'show', share.share_id.slice(0, 8), '--json']);
    expect(r.exitCode).toBe(0);
    expect(ShareView.parse(JSON.parse(r.stdout)).share_id).toBe(share.share_id);
  });
});
