import { describe, expect, it } from 'vitest';
import { AuditList, HandoffView, type TerminalView } from '@tether/contracts';
import { api, eventually, useControlPlane } from '../harness/index.ts';
import { as, policyFile, runningTerminal } from './helpers.ts';

// An offer nobody accepts ends on its durable deadline (the timer service fires handoff.expire), and
// the terminal is free for the next handoff.
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile(), TETHER_HANDOFF_OFFER_TTL_MS: '1500' });

describe('handoff: an offer nobody accepts', () => {
  it('is cancelled when its time is up, with the reason; the terminal takes another handoff', async () => {
    const { lane, term } = await runningTerminal(cp);
    const r = await as(cp, 'human:ann', 'POST', '/v1/handoffs', { terminal_id: term.terminal_id, to: 'human:bob' });
    const h = HandoffView.parse(r.body);
    expect(h.status).toBe('offered');
    const gone = await eventually(
      async () => HandoffView.parse((await api(cp, 'GET', `/v1/handoffs/${h.handoff_id}`)).body),
      (v) => v.status === 'cancelled',
    );
    expect(gone.ended).toMatchObject({
      as: 'cancelled',
      reason: 'nobody accepted the offer in time',
      by: 'system:timer',
    });
    expect(Date.parse(gone.ended!.at)).toBeGreaterThanOrEqual(Date.parse(gone.offer_expires_at!));
    await eventually(
      async () =>
        (
          (await api(cp, 'GET', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`)).body as {
            items: TerminalView[];
          }
        ).items.find((t) => t.terminal_id === term.terminal_id)?.handoff_id,
      (id) => id === null,
    );
    const audit = await eventually(
      async () =>
        AuditList.parse((await api(cp, 'GET', `/v1/audit?entity=handoff&entity_id=${h.handoff_id}`)).body).items,
      (a) => a.some((x) => x.action === 'handoff.expire'),
    );
    expect(audit.find((x) => x.action === 'handoff.expire')).toMatchObject({ state: 'cancelled' });
    const next = await as(cp, 'human:ann', 'POST', '/v1/handoffs', {
      terminal_id: term.terminal_id,
      to: 'human:bob',
    });
    // Offered again (it may have expired too by the time this looks, on a very busy machine).
    expect(next.status).toBe(201);
    expect(HandoffView.parse(next.body).offer_expires_at).not.toBeNull();
  });
});
