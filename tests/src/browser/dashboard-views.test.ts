import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AuditList, HandoffView } from '@tether/contracts';
import { api, eventually, signIn, useChromium, useControlPlane } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';
import { historyScenario } from '../sharing/history-scenario.ts';

// The dashboard's activity, time-travel and history views in Chromium, read from the API (the audit
// trail, an entity's replay, the share and approval lists), with screenshots for a person to look at.

const SHOTS = fileURLToPath(new URL('../../../.test-results/screenshots/', import.meta.url));
mkdirSync(SHOTS, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}dashboard-${name}.png`, fullPage: true });

const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
const chromium = useChromium();

/** A signed-in dashboard on `hash`, failing the test on any page error. */
async function dashboard(hash: string) {
  const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.setDefaultTimeout(60_000); // a busy machine: well inside the test's own timeout
  await signIn(page, cp);
  await page.goto(`${cp.url}/${hash}`);
  return { page, errors };
}

/** Each test drives real tmux, NATS and Chromium; under a busy machine it takes several times its usual 5 s. */
const slow = { timeout: 150_000 };

describe('dashboard views in Chromium', () => {
  it(
    "activity: a person's and an agent's actions on a lane, in order, with their actor ids, and nothing of another lane",
    slow,
    async () => {
      const { lane, term } = await runningTerminal(cp); // by human:ops
      const other = await runningTerminal(cp);
      const share = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
      expect(share.status).toBe(201);
      const h = HandoffView.parse(
        (
          await as(cp, 'ai:codex', 'POST', '/v1/handoffs', {
            terminal_id: term.terminal_id,
            to: 'human:alice',
            note: 'stuck on the migration',
          })
        ).body,
      );
      await as(cp, 'human:alice', 'POST', `/v1/handoffs/${h.handoff_id}/cancel`, { reason: 'not now' });
      await eventually(
        async () => AuditList.parse((await api(cp, 'GET', `/v1/audit?lane_id=${lane.lane_id}`)).body).items,
        (items) => items.some((r) => r.action === 'handoff.cancel'),
        60_000,
      );

      const { page, errors } = await dashboard(`#activity/${lane.lane_id}`);
      const rows = page.locator('#activity-timeline li.activity');
      await page.locator('#activity-timeline li[data-action="handoff.cancel"]').waitFor();
      expect(await page.locator('#activity-view').getAttribute('data-lane-id')).toBe(lane.lane_id);
      const seen = await rows.evaluateAll((lis) =>
        lis.map((li) => ({
          actor: li.getAttribute('data-actor'),
          kind: li.getAttribute('data-kind'),
          action: li.getAttribute('data-action'),
        })),
      );
      const at = (actor: string, action: string) => seen.findIndex((r) => r.actor === actor && r.action === action);
      const order = [
        at('human:ops', 'lane.create'),
        at('human:ops', 'terminal.spawn'),
        at('human:alice', 'share.request'),
        at('ai:codex', 'handoff.request'),
        at('human:alice', 'handoff.cancel'),
      ];
      expect(
        order.every((i) => i >= 0),
        JSON.stringify(seen),
      ).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      // tether's own reports (worker, timers) are left out until asked for; people and agents look different.
      expect(seen.every((r) => r.kind === 'human' || r.kind === 'ai')).toBe(true);
      const look = (kind: string) =>
        page
          .locator(`#activity-timeline .actor-chip[data-kind="${kind}"]`)
          .first()
          .evaluate(
            (n) =>
              (globalThis as unknown as { getComputedStyle(n: unknown): { backgroundColor: string } }).getComputedStyle(
                n,
              ).backgroundColor,
          );
      expect(await look('ai')).not.toBe(await look('human'));
      // Nothing of the other lane (its lane.create is by the same person).
      const ids = await page
        .locator('#activity-timeline li.activity a')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(ids.some((href) => href?.includes(other.lane.lane_id))).toBe(false);
      await shot(page, 'activity');

      // The agent's chip narrows the timeline to what the agent did.
      await page.locator('#activity-actors .actor-chip[data-actor="ai:codex"]').click();
      await page.locator('#activity-timeline li.activity[data-kind="human"]').first().waitFor({ state: 'detached' });
      expect(await rows.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-actor')))).toEqual(['ai:codex']);
      // tether's own records, on request.
      await page.locator('#activity-actors .actor-chip[data-actor="ai:codex"]').click();
      await page.locator('#activity-system').check();
      await page.locator('#activity-timeline li.activity[data-kind="system"]').first().waitFor();
      expect(errors).toEqual([]);
      await page.close();
    },
  );

  it(
    'time travel: a share scrubbed from starting through active to ended, its participants appearing',
    slow,
    async () => {
      const { term } = await runningTerminal(cp);
      const created = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id });
      const id = created.body.share.share_id;
      await eventually(
        async () => (await as<{ status: string }>(cp, 'human:alice', 'GET', `/v1/shares/${id}`)).body.status,
        (s) => s === 'active',
        60_000,
      );
      await as(cp, 'human:alice', 'POST', `/v1/shares/${id}/participants`, { name: 'dana' });
      await as(cp, 'human:alice', 'POST', `/v1/shares/${id}/revoke`, { reason: 'seen enough' });

      // Picked from the view's own picker: entity kind, then the id.
      const { page, errors } = await dashboard('#time-travel');
      await page.locator('#tt-entity').selectOption('share');
      await page.locator(`#tt-id option[value="${id}"]`).waitFor({ state: 'attached' });
      await page.locator('#tt-id').selectOption(id);
      await page.locator('#tt-form button[type="submit"]').click();
      await page.waitForURL(`**/#time-travel/share/${id}`);
      const slider = page.locator('#tt-slider');
      await slider.waitFor();
      const total = Number(await slider.getAttribute('max')) + 1;
      expect(total).toBe(5); // request, the owner's invite, started, dana's invite, revoke

      // The slider at the start, then next, next…: the state and context after each event.
      await slider.fill('0');
      const steps: Array<{ state: string; participants: string; type: string; changed: string | null }> = [];
      for (let i = 0; i < total; i++) {
        await page
          .locator('#tt-position')
          .filter({ hasText: `event ${i + 1} of ${total}` })
          .waitFor();
        steps.push({
          type: await page.locator('#tt-type').innerText(),
          state: await page.locator('#tt-state').innerText(),
          participants: await page.locator('#tt-context dd[data-key="participants"]').innerText(),
          changed: await page.locator('#tt-context dd[data-key="participants"]').getAttribute('data-changed'),
        });
        if (i === 1) await shot(page, 'time-travel-start');
        if (i < total - 1) await page.locator('#tt-next').click();
      }
      expect(steps.map((s) => s.state)).toEqual(['starting', 'starting', 'active', 'active', 'ended']);
      expect(steps[0]!.type).toBe('share.request');
      expect(steps.at(-1)!.type).toBe('share.revoke');
      expect(steps[2]!.participants).not.toContain('dana');
      expect(steps[3]!.participants).toContain('dana');
      expect(steps[3]!.changed).toBe('true'); // what the event changed is marked
      expect(steps[2]!.changed).toBe('false');
      expect(await page.locator('#tt-next').isDisabled()).toBe(true);
      // What the API left out stays out of the page.
      expect(await page.locator('#time-travel-view').innerText()).not.toMatch(/tokenHash|sealedLinks/);
      await shot(page, 'time-travel-end');

      // Back one with previous; the slider follows.
      await page.locator('#tt-prev').click();
      await page
        .locator('#tt-position')
        .filter({ hasText: `event ${total - 1} of ${total}` })
        .waitFor();
      expect(await slider.inputValue()).toBe(String(total - 2));
      expect(await page.locator('#tt-state').innerText()).toBe('active');
      expect(errors).toEqual([]);
      await page.close();
    },
  );

  it(
    'history: ended and denied shares and denied approvals, narrowed by filters, found by a participant name',
    slow,
    async () => {
      const h = await historyScenario(cp, 'ui');
      const { page, errors } = await dashboard('#history');
      const row = (id: string) => page.locator(`#history-shares tr[data-share-id="${id}"]`);
      await row(h.revokedId).waitFor();
      await row(h.eveId).waitFor();
      await row(h.heldId).waitFor();
      expect(await row(h.revokedId).getAttribute('data-reason')).toBe('revoked');
      expect(await row(h.revokedId).locator('.participants').innerText()).toContain(h.erinName);
      expect(await row(h.eveId).getAttribute('data-reason')).toBe('denied');
      expect(await row(h.eveId).innerText()).toContain('eve may not use tmate');
      const approval = page.locator(`#history-approvals tr[data-approval-id="${h.heldId}"]`);
      await approval.waitFor();
      expect(await approval.locator('.why').innerText()).toBe('not today ui');
      await shot(page, 'history');

      // Denied only: alice's revoked share goes.
      await page.locator('#history-form select[name="status"]').selectOption('denied');
      await row(h.revokedId).waitFor({ state: 'detached' });
      await row(h.eveId).waitFor();
      await row(h.heldId).waitFor();
      // And tmate only: just eve's.
      await page.locator('#history-form select[name="backend"]').selectOption('tmate');
      await row(h.heldId).waitFor({ state: 'detached' });
      expect(await page.locator('#history-shares tbody tr[data-share-id]').count()).toBe(1);
      await row(h.eveId).waitFor();

      // Search by the participant's name, over every ended share.
      await page.locator('#history-form select[name="status"]').selectOption('ended');
      await page.locator('#history-form select[name="backend"]').selectOption('');
      await page.locator('#history-form input[name="q"]').fill(h.erinName);
      await page.locator('#history-form button[type="submit"]').click();
      await row(h.eveId).waitFor({ state: 'detached' });
      await row(h.revokedId).waitFor();
      expect(await page.locator('#history-shares tbody tr[data-share-id]').count()).toBe(1);
      await shot(page, 'history-search');

      // A filter the API refuses says why, in the page.
      await page.locator('#history-form input[name="owner"]').fill('alice');
      await page.locator('#history-form button[type="submit"]').click();
      const error = page.locator('#history-error');
      await error.waitFor();
      expect(await error.innerText()).toMatch(
        /INVALID_COMMAND: invalid share list query: owner: an owner is "kind:id"/,
      );

      // A row leads to that share's time travel.
      await page.locator('#history-form input[name="owner"]').fill('');
      await page.locator('#history-form button[type="submit"]').click();
      await error.waitFor({ state: 'hidden' });
      await row(h.revokedId).locator('a').click();
      await page.waitForURL(`**/#time-travel/share/${h.revokedId}`);
      await page.locator('#tt-state').filter({ hasText: 'ended' }).waitFor();
      expect(errors).toEqual([]);
      await page.close();
    },
  );
});
