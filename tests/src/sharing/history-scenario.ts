import { expect } from 'vitest';
import { ApprovalView, type ShareView, type ParticipantLink } from '@tether/contracts';
import { eventually, type Tether } from '../harness/index.ts';
import { as, createShare, runningTerminal } from './helpers.ts';

/**
 * Three shares of one terminal for the history tests (the policy of policyFile()): alice's, with erin
 * invited, revoked; eve's tmate share, denied by the rule; codex's, held for approval and denied by ops.
 * Waits until the read model lists all three as ended.
 */
export async function historyScenario(cp: Tether, tag: string) {
  const { lane, term } = await runningTerminal(cp);
  const revoked = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
  expect(revoked.status).toBe(201);
  const revokedId = revoked.body.share.share_id;
  const erin = await as<ParticipantLink>(cp, 'human:alice', 'POST', `/v1/shares/${revokedId}/participants`, {
    name: `erin-${tag}`,
  });
  expect(erin.status).toBe(201);
  await as(cp, 'human:alice', 'POST', `/v1/shares/${revokedId}/revoke`, { reason: `demo over ${tag}` });

  const byRule = await createShare(cp, 'human:eve', { terminal_id: term.terminal_id, backend: 'tmate' });
  expect(byRule.body.error?.reason).toBe('SHARE_DENIED');

  const held = await createShare(cp, 'ai:codex', { terminal_id: term.terminal_id });
  expect(held.body.share.status).toBe('awaiting_approval');
  const heldId = held.body.share.share_id;
  const denial = await as(cp, 'human:ops', 'POST', `/v1/approvals/${heldId}/deny`, { reason: `not today ${tag}` });
  expect(denial.status).toBe(200);

  const ended = await eventually(
    async () =>
      (
        await as<{ items: ShareView[] }>(
          cp,
          'human:ops',
          'GET',
          `/v1/shares?terminal_id=${term.terminal_id}&status=ended`,
        )
      ).body.items,
    (items) => items.length === 3,
    60_000,
  );
  const eveId = ended.find((s) => s.owner === 'human:eve')!.share_id;
  const approval = ApprovalView.parse((await as(cp, 'human:ops', 'GET', `/v1/approvals/${heldId}`)).body);
  expect(approval.status).toBe('denied');
  return { lane, term, revokedId, erinName: `erin-${tag}`, eveId, heldId };
}
