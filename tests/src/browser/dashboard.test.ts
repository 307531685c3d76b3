import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { HandoffView, LaneView } from '@tether/contracts';
import { freePort } from '@tether/runtime';
import { api, asActor, eventually, launchChromium, signIn, signInWith, useControlPlane } from '../harness/index.ts';
import { as, runningTerminal } from '../sharing/helpers.ts';

const harnessPort = await freePort();
let harness: Server | undefined = createServer((_req, res) => res.writeHead(200).end('ok'));
await new Promise<void>((r) => harness!.listen(harnessPort, '127.0.0.1', r));

const cp = useControlPlane({
  TETHER_HARNESS_URL: `http://127.0.0.1:${harnessPort}`,
  TETHER_HARNESS_CHECK_MS: '300',
  TETHER_HARNESS_COOLDOWN_MS: '60000',
});
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (harness ? harness.close(r) : r(undefined)));
});

describe('dashboard in Chromium', () => {
  it('shows lanes and harness status live, pushed by the server', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await signIn(page, cp);
    await page.locator('#connection[data-state="open"]').waitFor();
    await page.locator('#harness[data-status="healthy"]').waitFor();

    // A lane created through the API appears without a reload.
    const lane = LaneView.parse(
      (
        await api(cp, 'POST', '/v1/workspaces/ws1/lanes', {
          project_context_id: 'p',
          display_name: 'Fix the login page',
        })
      ).body,
    );
    const card = page.locator(`[data-lane-id="${lane.lane_id}"]`);
    await card.waitFor();
    expect(await card.locator('h2').innerText()).toContain('Fix the login page');
    expect(await card.locator('h2 .status').innerText()).toBe('ready');

    // The harness dies: the status turns degraded with its reason.
    await new Promise((r) => harness!.close(r));
    harness = undefined;
    await page.locator('#harness[data-status="degraded"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="degrade-reason"]').innerText()).toMatch(
      /harness unreachable at .*: (ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET)/,
    ); // refused, or a check in flight cut off

    // Live by push: one document load and one event stream, no reloads, no polling.
    expect(requests.filter((p) => p === '/').length).toBe(1);
    expect(requests.filter((p) => p === '/v1/stream').length).toBe(1);
    // Besides the stream, only who is signed in, the recovery banner's and the task runs' first reads (once each): no polling.
    expect(requests.filter((p) => p.startsWith('/v1/') && p !== '/v1/stream').sort()).toEqual([
      '/v1/me',
      '/v1/recovery',
      '/v1/task-runs',
    ]);
    await page.screenshot({ path: `${cp.home}/dashboard.png` });
    await page.close();
  });

  it('an operator signs in with the one-time link, approves a handoff to an agent, and sees its badge', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await signIn(page, cp); // the owner, human:ops, an operator
    await page.locator('#connection[data-state="open"]').waitFor();
    expect(await page.locator('#who').innerText()).toBe('human:ops (operator)');
    const { term } = await runningTerminal(cp);
    // The built-in policy holds a keyboard handed to an agent for an operator.
    const h = HandoffView.parse(
      (await as(cp, 'human:ann', 'POST', '/v1/handoffs', { terminal_id: term.terminal_id, to: 'ai:codex' })).body,
    );
    expect(h.status).toBe('awaiting_approval');
    await page.locator(`[data-terminal-id="${term.terminal_id}"] .handoff-badge`).waitFor();
    const row = page.locator(`#approvals [data-approval-id="${h.handoff_id}"]`);
    await row.waitFor();
    await row.locator('[data-decide="approve"]').click();
    await row.waitFor({ state: 'detached' });
    const approved = await eventually(
      async () => HandoffView.parse((await api(cp, 'GET', `/v1/handoffs/${h.handoff_id}`)).body),
      (v) => v.status === 'offered',
    );
    expect(approved.context?.cwd).toBeTruthy(); // captured once allowed
    // Still in progress (offered to the agent): the badge stays until the agent takes it or it ends.
    await page.locator(`[data-terminal-id="${term.terminal_id}"] .handoff-badge`).waitFor();
    await as(cp, 'human:ann', 'POST', `/v1/handoffs/${h.handoff_id}/cancel`, { reason: 'test over' });
    await page.locator(`[data-terminal-id="${term.terminal_id}"] .handoff-badge`).waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('notifies the person an agent hands a terminal to; the share badge shows the handoff; only that person accepts', async () => {
    // Alice's and bob's dashboards, each signed in with a one-time link made with their own token.
    const [alice, bob] = [await browser.newPage(), await browser.newPage()];
    const errors: string[] = [];
    for (const p of [alice, bob]) p.on('pageerror', (err) => errors.push(String(err)));
    await signInWith(alice, await asActor(cp, 'human:alice', 'member'));
    await signInWith(bob, await asActor(cp, 'human:bob', 'member'));
    const page = alice;
    await page.locator('#connection[data-state="open"]').waitFor();
    const { term } = await runningTerminal(cp);
    const share = (
      await as<{ share: { share_id: string } }>(cp, 'human:ann', 'POST', '/v1/shares', {
        terminal_id: term.terminal_id,
      })
    ).body.share;
    // The built-in policy lets an agent hand a keyboard to a person, who must accept it.
    const h = HandoffView.parse(
      (
        await as(cp, 'ai:codex', 'POST', '/v1/handoffs', {
          terminal_id: term.terminal_id,
          to: 'human:alice',
          note: 'stuck: the migration needs a person',
        })
      ).body,
    );
    const note = page.locator(`#handoffs [data-handoff-id="${h.handoff_id}"][data-status="offered"]`);
    await note.waitFor();
    expect(await note.innerText()).toMatch(
      /ai:codex hands terminal .* to human:alice: “stuck: the migration needs a person”/,
    );
    await page.locator(`[data-share-id="${share.share_id}"][data-handoff="offered"]`).waitFor();
    await page.locator(`[data-terminal-id="${term.terminal_id}"] .handoff-badge`).waitFor();

    // Someone else cannot take it: the refusal is shown in their notification.
    const bobsNote = bob.locator(`#handoffs [data-handoff-id="${h.handoff_id}"][data-status="offered"]`);
    await bobsNote.waitFor();
    expect(await bobsNote.getAttribute('data-mine')).toBe('false');
    await bobsNote.locator('[data-handoff="accept"]').click();
    await bobsNote.locator('.error').waitFor();
    expect(await bobsNote.locator('.error').innerText()).toMatch(/HANDOFF_NOT_RECEIVER/);

    expect(await note.getAttribute('data-mine')).toBe('true');
    await note.locator('[data-handoff="accept"]').click();
    await page.locator('#handoffs').waitFor({ state: 'hidden' });
    await page.locator(`[data-share-id="${share.share_id}"]:not([data-handoff])`).waitFor();
    expect(await page.locator(`[data-terminal-id="${term.terminal_id}"] .handoff-badge`).count()).toBe(0);
    const done = await eventually(
      async () => HandoffView.parse((await api(cp, 'GET', `/v1/handoffs/${h.handoff_id}`)).body),
      (v) => v.status === 'completed',
    );
    expect(done.to).toBe('human:alice');
    expect(errors).toEqual([]);
    await alice.close();
    await bob.close();
  });
});
