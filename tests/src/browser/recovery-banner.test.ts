import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { RecoveryStatusView } from '@tether/contracts';
import { api, cmd, eventually, useChromium, signIn, uid, useControlPlane } from '../harness/index.ts';

// The recovery runner is tether's own service: its verbs are internal (refused over HTTP and NATS), so
// the test sends them to the actor host as that runner would, one stage at a time, and watches the page.
const cp = useControlPlane();
const chromium = useChromium();

/** A recovery run the test drives: each step is the runner's event, accepted by the run's actor. */
function run(id = uid('rec')) {
  return {
    id,
    step: async (verb: string, data: Record<string, unknown> = {}) =>
      expect(await cp.server.host.execute(cmd('recovery', verb, id, data))).toMatchObject({ ok: true }),
  };
}
const crash = (instanceId: string) => ({
  instanceId,
  pid: 4242,
  startedAt: new Date(Date.now() - 60_000).toISOString(),
  lastHeartbeatAt: new Date(Date.now() - 5_000).toISOString(),
  crashedAt: new Date().toISOString(),
  exit: null,
});
const WAIT = { timeout: 10_000 };

/** Waits until `selector` on `page` reads `text` (whitespace as the browser lays it out). */
async function reads(page: Page, selector: string, text: string | RegExp) {
  const at = page.locator(selector);
  await at.filter({ hasText: text }).waitFor(WAIT);
  if (typeof text === 'string') expect((await at.innerText()).trim()).toBe(text);
  else expect(await at.innerText()).toMatch(text);
}

async function status(): Promise<RecoveryStatusView> {
  const r = await api(cp, 'GET', '/v1/recovery');
  expect(r.status).toBe(200);
  return RecoveryStatusView.parse(r.body);
}

async function dashboard(): Promise<{ page: Page; errors: string[] }> {
  const page = await chromium.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await signIn(page, cp);
  await page.locator('#connection[data-state="open"]').waitFor(WAIT);
  return { page, errors };
}

describe('recovery banner in Chromium', () => {
  it('follows a run from DETECTING to its summary, stage by stage, and is dismissed for good', async () => {
    const { page, errors } = await dashboard();
    const banner = page.locator('#recovery');
    // Nothing to recover: no banner. Its element comes before the rest of the page.
    expect(await banner.isHidden()).toBe(true);
    expect(await page.locator('body > :first-child').getAttribute('id')).toBe('recovery-banners');

    const r = run();
    const [t1, t2, t3] = [uid('t1'), uid('t2'), uid('t3')];
    await r.step('start', {
      installationId: cp.server.installationId,
      instanceId: uid('inst'),
      crashes: [crash(uid('old'))],
      safeMode: null,
    });
    await page.locator('#recovery[data-status="detecting"]').waitFor(WAIT);
    await reads(page, '#recovery [data-field="stage"]', 'Detecting crash... checking processes.');
    await reads(
      page,
      '#recovery [data-field="note"]',
      /commands that create or change terminals wait until recovery is live/i,
    );
    expect(await banner.getAttribute('role')).toBe('status');
    expect(await banner.getAttribute('aria-live')).toBe('polite');

    await r.step('detected', { tmuxAlive: true, sessions: 1 });
    await page.locator('#recovery[data-status="inventorying"]').waitFor(WAIT);
    await reads(page, '#recovery [data-field="stage"]', 'Inventorying recoverable state...');
    await reads(page, '#recovery .muted', 'tmux survived with 1 session.');

    const lane = uid('lane');
    const at = new Date().toISOString();
    await r.step('inventoried', {
      terminals: [
        { terminalId: t1, laneId: lane, plan: 'reattach', checkpointAt: at },
        { terminalId: t2, laneId: lane, plan: 'respawn', checkpointAt: at },
        { terminalId: t3, laneId: lane, plan: 'respawn', checkpointAt: at },
      ],
    });
    await reads(page, '#recovery [data-field="stage"]', 'Restoring sessions... 0 of 3 complete.');
    await reads(page, '#recovery [data-field="count"]', '0 of 3 complete');
    await reads(page, '#recovery .muted', 'Found 3 checkpoints: 1 to reattach, 2 to respawn.');
    expect(await page.locator('#recovery progress').getAttribute('max')).toBe('3');

    await r.step('terminalRestored', { terminalId: t1, how: 'reattach' });
    await reads(page, '#recovery [data-field="count"]', '1 of 3 complete');
    await reads(page, '#recovery [data-field="stage"]', 'Restoring sessions... 1 of 3 complete.');
    expect(await page.locator('#recovery progress').getAttribute('value')).toBe('1');

    // A page opened now shows the run at once from its own read, even with the rest of the dashboard
    // (its store module) failing to load.
    const early = await chromium.browser.newPage();
    await early.route('**/assets/xstate-store/**', (route) => route.abort());
    await signIn(early, cp);
    await reads(early, '#recovery [data-field="count"]', '1 of 3 complete');
    expect(await early.locator('#connection').getAttribute('data-state')).toBe('connecting'); // app.js never ran
    await early.screenshot({ path: `${cp.home}/recovery-banner-early.png` });
    await early.close();

    await r.step('terminalRestored', { terminalId: t2, how: 'respawn' });
    await reads(page, '#recovery [data-field="count"]', '2 of 3 complete');
    await page.screenshot({ path: `${cp.home}/recovery-banner-restoring.png` });
    await r.step('terminalFailed', { terminalId: t3, reason: 'cwd_missing: /srv/gone no longer exists' });
    await reads(page, '#recovery [data-field="count"]', '3 of 3 complete');
    await r.step('lanesChecked', { present: 1, missing: [] });
    await r.step('restored', { durationMs: 120 });
    await page.locator('#recovery[data-status="reconciling"]').waitFor(WAIT);
    await reads(page, '#recovery [data-field="stage"]', 'Cleaning up orphaned processes...');

    const orphan = (id: string, kind: string, reason: string) => ({ id, kind, ref: id, reason });
    await r.step('reconciled', {
      totalFound: 4,
      safeToTerminate: [
        orphan('process:1111', 'process', 'marked, no live terminal'),
        orphan('process:2222', 'process', 'marked, no live terminal'),
        orphan('tmp:/tmp/tether-x', 'tempFile', 'temp file of a crashed write'),
      ],
      needsReview: [orphan('worktree:/w/lane-x', 'worktree', 'uncommitted changes')],
      cleanup: { terminated: 2, removed: 1, reviewPending: 1, failed: [] },
      durationMs: 40,
    });
    await page.locator('#recovery[data-status="liveWithIssues"]').waitFor(WAIT);
    await reads(page, '#recovery h2', 'Recovery complete with issues');
    await reads(page, '#recovery [data-field="restored"]', '1');
    await reads(page, '#recovery [data-field="respawned"]', '1');
    await reads(page, '#recovery [data-field="failed"]', '1');
    const lost = page.locator(`#recovery .recovery-failed [data-terminal-id="${t3}"]`);
    expect(await lost.innerText()).toContain('cwd_missing: /srv/gone no longer exists');
    expect(await lost.innerText()).toMatch(/What to do: its working directory is gone/);
    await reads(page, '#recovery [data-field="orphans-cleaned"]', '3 (2 terminated, 1 removed)');
    await reads(page, '#recovery [data-field="orphans-review"]', '1 — list them with tether recovery review');
    expect(await page.locator('#recovery .note').count()).toBe(0); // live: nothing waits any more
    await page.screenshot({ path: `${cp.home}/recovery-banner-summary.png` });

    await page.locator('#recovery button[data-dismiss]').click();
    await banner.waitFor({ state: 'hidden', ...WAIT });
    const after = await eventually(status, (s) => s.latest?.dismissed_at !== null);
    expect(after.latest).toMatchObject({ recovery_id: r.id, status: 'liveWithIssues' });
    // Dismissed for good: a fresh page does not show that summary again.
    await page.reload();
    await page.locator('#connection[data-state="open"]').waitFor(WAIT);
    expect(await banner.isHidden()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says tether runs in safe mode, why and how to leave; leaving it with a reason hides it', async () => {
    const { page, errors } = await dashboard();
    const safe = page.locator('#safe-mode');
    expect(await safe.isHidden()).toBe(true);
    const r = run();
    await r.step('start', {
      installationId: cp.server.installationId,
      instanceId: uid('inst'),
      crashes: [crash(uid('a')), crash(uid('b')), crash(uid('c'))],
      safeMode: { reason: '3 crashes within 60 s', crashes: 3 },
    });
    await safe.waitFor({ state: 'visible', ...WAIT });
    expect(await safe.getAttribute('role')).toBe('alert');
    await reads(page, '#safe-mode h2', 'tether runs in safe mode');
    await reads(
      page,
      '#safe-mode [data-field="why"]',
      `Why: 3 crashes within 60 s (3 crashes counted; recovery ${r.id}).`,
    );
    await reads(
      page,
      '#safe-mode [data-field="disabled"]',
      'Off until safe mode is left: share workers, the harness monitor, new terminals.',
    );
    await reads(page, '#safe-mode [data-field="leave"] code', /^tether recovery leave-safe-mode --reason/);
    // The run itself shows beside it, still detecting.
    await page.locator('#recovery[data-status="detecting"]').waitFor(WAIT);
    await page.screenshot({ path: `${cp.home}/recovery-banner-safe-mode.png` });

    // No reason, no leaving: it says so and nothing changes.
    await safe.locator('button[type="submit"]').click();
    await reads(page, '#safe-mode .error', 'Leaving safe mode needs a reason: type it in the box.');
    expect((await status()).safe_mode?.active).toBe(true);

    await safe.locator('input#safe-mode-reason').fill('the bad plugin is removed');
    await safe.locator('button[type="submit"]').click();
    await safe.waitFor({ state: 'hidden', ...WAIT });
    const left = await eventually(status, (s) => s.safe_mode === null || s.safe_mode.active === false);
    expect(left.safe_mode?.active ?? false).toBe(false);
    expect(left.latest?.safe_mode).toMatchObject({ active: false, left_by: 'human:ops' });
    // Another page does not show it either.
    await page.reload();
    await page.locator('#recovery[data-status="detecting"]').waitFor(WAIT);
    expect(await safe.isHidden()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
