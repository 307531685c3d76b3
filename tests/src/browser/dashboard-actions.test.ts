import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Frame, Page } from 'playwright-core';
import { AuditList, LaneView, ShareCreated, ShareView, type ParticipantLink } from '@tether/contracts';
import { api, asActor, eventually, launchChromium, signIn, signInWith, useControlPlane } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

// The dashboard as a place to act from: the share panel's buttons, any terminal live in the page, and what it
// shows when there is nothing (or nothing wrong). No harness is configured here.
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
const SHOTS = join(process.cwd(), '.test-results', 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `dashboard-actions-${name}.png`) });

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** A signed-in dashboard of the owner (human:ops, an operator), its script errors collected. */
async function dashboard(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await signIn(page, cp);
  await page.locator('#connection[data-state="open"]').waitFor();
  return { page, errors };
}

const shareOf = async (id: string) => ShareView.parse((await as(cp, 'human:ops', 'GET', `/v1/shares/${id}`)).body);
/** The viewer's terminal text, from its `window.__tetherViewer`. */
const viewerText = (frame: Page | Frame) =>
  frame.evaluate(() => (globalThis as unknown as { __tetherViewer: { text(): string } }).__tetherViewer.text());
const mmss = (t: string) => {
  const [m, s] = t.split(':').map(Number);
  return m! * 60 + s!;
};

describe('dashboard: nothing yet, nothing wrong', () => {
  it('empty states say what to do; no harness configured is neutral, not red', async () => {
    const { page, errors } = await dashboard();
    const box = page.locator('#harness[data-status="not-configured"]');
    await box.waitFor();
    expect(await box.innerText()).toContain('not configured');
    expect(await page.locator('[data-testid="harness-hint"]').innerText()).toContain('TETHER_HARNESS_URL');
    // No DOM types here (the test runs in Node): the page's getComputedStyle, typed by hand.
    type Styled = { getComputedStyle(n: unknown): { borderLeftColor: string } };
    const border = await box.evaluate((n) => (globalThis as unknown as Styled).getComputedStyle(n).borderLeftColor);
    expect(border).not.toBe('rgb(214, 59, 47)'); // the red of an unavailable harness
    expect(border).toBe('rgb(152, 162, 179)');

    expect(await page.locator('#lanes .empty').innerText()).toContain('npx tether lane create');
    expect(await page.locator('#empty-states [data-empty="shares"]').innerText()).toContain('npx tether share create');
    expect(await page.locator('#empty-states [data-empty="approvals"]').innerText()).toContain(
      'npx tether approval list',
    );
    await shot(page, 'empty');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('serves the favicon, and every page links it', async () => {
    const res = await fetch(`${cp.url}/favicon.svg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('image/svg+xml');
    expect(await res.text()).toContain('<svg');

    const { page } = await dashboard();
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
    // The icon the browser shows loads (same origin, allowed by every page's policy).
    expect(await page.evaluate(async () => (await fetch('/favicon.svg')).status)).toBe(200);
    await page.close();
    const { term } = await runningTerminal(cp);
    const { link, share } = ShareCreated.parse(
      (await createShare(cp, 'human:ops', { terminal_id: term.terminal_id })).body,
    );
    for (const path of ['/login', new URL(link!.url).pathname, `/recordings/${term.terminal_id}`]) {
      const html = await (await fetch(`${cp.url}${path}`)).text();
      expect(html, path).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
    }
    const viewer = await browser.newPage();
    await viewer.goto(link!.url);
    await viewer.locator('body[data-state="open"]').waitFor();
    expect(await viewer.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
    await viewer.close();
    await as(cp, 'human:ops', 'POST', `/v1/shares/${share.share_id}/revoke`, {});
  });

  it('closed lanes are folded away behind "N closed lanes"', async () => {
    const make = async (name: string) =>
      LaneView.parse(
        (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: name })).body,
      );
    const [open, closed] = [await make('still open'), await make('done with')];
    await api(cp, 'POST', `/v1/workspaces/ws1/lanes/${closed.lane_id}/cleanup`, {});
    await eventually(
      async () => (await api<LaneView>(cp, 'GET', `/v1/workspaces/ws1/lanes/${closed.lane_id}`)).body.status,
      (s) => s === 'closed',
    );
    const { page, errors } = await dashboard();
    await page.locator(`.lane[data-lane-id="${open.lane_id}"]`).waitFor();
    const toggle = page.locator('#closed-lanes-toggle');
    await toggle.waitFor();
    const closedCount = (await api<{ items: { value: string }[] }>(cp, 'GET', '/v1/entities/lane')).body.items.filter(
      (l) => l.value === 'closed',
    ).length;
    expect(await toggle.innerText()).toBe(`▸ ${closedCount} closed lane${closedCount === 1 ? '' : 's'}`);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator(`.lane[data-lane-id="${closed.lane_id}"]`).count()).toBe(0);
    await shot(page, 'lanes-folded');
    await toggle.click();
    await page.locator(`.lane[data-lane-id="${closed.lane_id}"][data-status="closed"]`).waitFor();
    expect(await page.locator('#closed-lanes-toggle').getAttribute('aria-expanded')).toBe('true');
    await shot(page, 'lanes-unfolded');
    await page.locator('#closed-lanes-toggle').click();
    await page.locator(`.lane[data-lane-id="${closed.lane_id}"]`).waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('dashboard: acting from the share panel', () => {
  it('extends, grants and revokes write, kicks (after a confirmation) and revokes, as the signed-in operator', async () => {
    const { term } = await runningTerminal(cp);
    const created = ShareCreated.parse(
      (
        await createShare(cp, 'human:alice', {
          terminal_id: term.terminal_id,
          access: 'write',
          ttl_ms: 10 * 60_000,
          participant: 'bob',
        })
      ).body,
    );
    const shareId = created.share.share_id;
    const bob = created.link!;
    const carol = (
      await as<ParticipantLink>(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/participants`, { name: 'carol' })
    ).body;
    const [bobPage, carolPage] = [await browser.newPage(), await browser.newPage()];
    await bobPage.goto(bob.url);
    await carolPage.goto(carol.url);
    await bobPage.locator('body[data-state="open"]').waitFor();
    await carolPage.locator('body[data-state="open"]').waitFor();

    const { page, errors } = await dashboard();
    const badge = page.locator(`.share-badge[data-share-id="${shareId}"]`);
    await badge.waitFor();
    await badge.click();
    const panel = page.locator(`#share-detail[data-share-id="${shareId}"]`);
    await panel.waitFor();
    const row = (p: { participant_id: string }) => panel.locator(`tr[data-participant-id="${p.participant_id}"]`);
    await row(bob).locator('td', { hasText: 'yes (1)' }).waitFor();
    const outcome = panel.locator('.outcome');

    // Extend: the time left grows, in the panel and in the API.
    const before = await shareOf(shareId);
    const leftBefore = mmss(await panel.locator('[data-field="expires at"] .clock').innerText());
    await panel.locator('[data-share-act="extend"][data-ms="900000"]').click();
    await panel.locator('.outcome[data-outcome="ok"]', { hasText: 'extended by 15 min' }).waitFor();
    const after = await eventually(
      () => shareOf(shareId),
      (s) => s.expires_at! > before.expires_at!,
    );
    expect(Date.parse(after.expires_at!) - Date.parse(before.expires_at!)).toBe(15 * 60_000);
    await eventually(
      async () => mmss(await panel.locator('[data-field="expires at"] .clock').innerText()),
      (left) => left > leftBefore + 14 * 60,
    );

    // Grant write to bob: his page says so, the API too; then revoke it.
    await row(bob).locator('[data-share-act="grant-write"]').click();
    await row(bob).locator('td', { hasText: 'write until' }).waitFor();
    await bobPage.locator('#status[data-access="write"]').waitFor();
    expect((await shareOf(shareId)).participants.find((p) => p.name === 'bob')?.write_until).not.toBeNull();
    expect(await outcome.innerText()).toBe('bob may type for 15 min');
    await shot(page, 'panel-granted');
    await row(bob).locator('[data-share-act="revoke-write"]').click();
    await row(bob)
      .locator('td', { hasText: /^read$/ })
      .waitFor();
    await bobPage.locator('#status[data-access="read"]').waitFor();
    expect((await shareOf(shareId)).participants.find((p) => p.name === 'bob')?.write_until).toBeNull();

    // Kick carol: it asks first; "cancel" changes nothing, "yes" cuts her off.
    await row(carol).locator('[data-share-act="kick"]').click();
    const confirm = panel.locator('.confirm[data-confirm="kick"]');
    await confirm.waitFor();
    expect(await confirm.innerText()).toContain('Kick carol?');
    await confirm.locator('[data-confirm-act="no"]').click();
    await confirm.waitFor({ state: 'detached' });
    expect((await shareOf(shareId)).participants.find((p) => p.name === 'carol')?.kicked).toBe(false);
    await row(carol).locator('[data-share-act="kick"]').click();
    await confirm.locator('[data-confirm-act="yes"]').click();
    await carolPage.locator('body[data-state="closed"]').waitFor();
    expect(await carolPage.locator('#banner').innerText()).toContain('you were removed from share');
    await row(carol).locator('td', { hasText: /^yes$/ }).waitFor(); // the "kicked" column
    expect(await row(carol).locator('[data-share-act]').count()).toBe(0);
    expect((await shareOf(shareId)).participants.find((p) => p.name === 'carol')?.kicked).toBe(true);
    expect(await bobPage.locator('body').getAttribute('data-state')).toBe('open');

    // Revoke, with a reason: bob is disconnected with it, the badge goes, the share has ended in the API.
    await panel.locator('[data-share-act="revoke"]').click();
    await panel.locator('.confirm[data-confirm="revoke"] [data-confirm-reason]').fill('demo over');
    await shot(page, 'panel-confirm-revoke');
    await panel.locator('.confirm [data-confirm-act="yes"]').click();
    await badge.waitFor({ state: 'detached' });
    await page.locator('#share-detail[data-status="ended"]').waitFor();
    expect(await outcome.innerText()).toBe('revoked');
    await bobPage.locator('body[data-state="closed"]').waitFor();
    expect(await bobPage.locator('#banner').innerText()).toContain('demo over');
    const ended = await shareOf(shareId);
    expect(ended.status).toBe('ended');
    expect(ended.ended).toMatchObject({ reason: 'revoked', detail: 'demo over', by: 'human:ops' });
    expect(await panel.locator('[data-share-act]').count()).toBe(0); // nothing left to do
    await shot(page, 'panel-revoked');
    expect(errors).toEqual([]);
    for (const p of [page, bobPage, carolPage]) await p.close();
  });

  it('a refusal is shown in the panel with its code and message, and changes nothing', async () => {
    const { term } = await runningTerminal(cp);
    const { share } = ShareCreated.parse(
      (await createShare(cp, 'human:alice', { terminal_id: term.terminal_id })).body,
    );
    // Bob, a member, neither owns the share nor is an operator.
    const page = await browser.newPage();
    await signInWith(page, await asActor(cp, 'human:bob', 'member'));
    await page.locator(`.share-badge[data-share-id="${share.share_id}"]`).click();
    const panel = page.locator(`#share-detail[data-share-id="${share.share_id}"]`);
    await panel.locator('[data-share-act="revoke"]').click();
    await panel.locator('.confirm [data-confirm-act="yes"]').click();
    const error = panel.locator('.outcome[data-outcome="error"]');
    await error.waitFor();
    expect(await error.innerText()).toMatch(
      /^revoke failed: FORBIDDEN \(share-owner-or-operator\): human:bob \(member\) may not/,
    );
    expect(await error.getAttribute('role')).toBe('alert');
    await shot(page, 'panel-refused');
    expect((await shareOf(share.share_id)).status).toBe('active');
    await page.close();
    await as(cp, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, {});
  });
});

describe('dashboard: any terminal live in the page', () => {
  it('"watch live" makes a read-only share for the operator, shows the terminal, and reuses the share', async () => {
    const { term, session } = await runningTerminal(cp);
    const { page, errors } = await dashboard();
    const watch = page.locator(`[data-terminal-id="${term.terminal_id}"] [data-watch-terminal]`);
    await watch.click();
    const card = page.locator(`#terminal-viewers [data-viewer-terminal="${term.terminal_id}"]`);
    await card.locator('iframe.terminal[src]').waitFor();
    const shareId = (await card.getAttribute('data-share-id'))!;
    const frame = await eventually(
      async () => page.frames().find((f) => f.url().includes(`/v/${shareId}`)),
      (f) => f !== undefined,
    );
    await frame!.locator('body[data-state="open"]').waitFor();
    expect(await frame!.locator('#status').getAttribute('data-access')).toBe('read');

    // What the terminal prints shows in the page.
    cp.ctx.store.nc.publish(
      `tether.term.${term.terminal_id}.in`,
      JSON.stringify({ data: 'echo watched-$((6*7))\r', from: session.session_id }),
    );
    await eventually(
      () => viewerText(frame!),
      (t) => t.includes('watched-42'),
    );
    await shot(page, 'terminal-live');

    // A share like any other: the operator's, read-only, native, audited; its badge is on the terminal.
    const share = await shareOf(shareId);
    expect(share).toMatchObject({ owner: 'human:ops', access: 'read', backend: 'native', status: 'active' });
    expect(share.participants.map((p) => p.name)).toEqual(['ops (dashboard)']);
    await page.locator(`[data-terminal-id="${term.terminal_id}"] .share-badge[data-share-id="${shareId}"]`).waitFor();
    const audit = AuditList.parse(
      (await api(cp, 'GET', `/v1/audit?entity=share&entity_id=${shareId}&after=0&limit=100`)).body,
    ).items;
    expect(audit.some((r) => r.actor.kind === 'human' && r.actor.id === 'ops')).toBe(true);

    // Closed and opened again: the same share, a new participant link.
    await card.locator('[data-close-viewer]').click();
    await card.waitFor({ state: 'detached' });
    await watch.click();
    await card.locator('iframe.terminal[src]').waitFor();
    expect(await card.getAttribute('data-share-id')).toBe(shareId);
    await eventually(
      async () => (await shareOf(shareId)).participants.length,
      (n) => n === 2,
    );
    expect(errors).toEqual([]);
    await as(cp, 'human:ops', 'POST', `/v1/shares/${shareId}/revoke`, {});
    await page.close();
  });
});
