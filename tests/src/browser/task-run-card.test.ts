import { describe, expect, it } from 'vitest';
import type { Frame, Page } from 'playwright-core';
import { eventually, signIn, useChromium, useControlPlane } from '../harness/index.ts';
import { AGENT_STEP, getRun, runUntil, startRun } from '../live/task-helpers.ts';

// The dashboard's card of a task run in Chromium, as an operator uses it: watch the agent in the page,
// pause it, send it a message, take it over and type into its terminal, release it with a summary, and
// play the recording. Everything the card shows arrives through the live stream.
const cp = useControlPlane();
const chromium = useChromium();
const WAIT = { timeout: 15_000 };

/** The share viewer inside the card's frame, once it has loaded. */
async function viewerFrame(page: Page, id: string): Promise<Frame> {
  const iframe = page.locator(`[data-task-run-id="${id}"] iframe.terminal`);
  await iframe.waitFor(WAIT);
  return eventually(
    async () => (await iframe.elementHandle())?.contentFrame(),
    (f) => !!f && f.url().includes('/v/'),
  ) as Promise<Frame>;
}
/** The viewer's terminal text (window.__tetherViewer of the share viewer page). */
const screen = (frame: Frame) =>
  frame.evaluate(() => (globalThis as unknown as { __tetherViewer: { text(): string } }).__tetherViewer.text());

describe('task run card in Chromium', () => {
  it('watch, pause, message, take over and type, release, play the recording', async () => {
    const page = await chromium.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await signIn(page, cp);
    await page.locator('#connection[data-state="open"]').waitFor(WAIT);

    const { reply } = await startRun(cp, { name: 'card agent' });
    const id = reply.task_run.task_run_id;
    const card = page.locator(`.task-run[data-task-run-id="${id}"]`);
    await card.waitFor(WAIT);
    await page.locator(`.task-run[data-task-run-id="${id}"][data-status="running"][data-live="ready"]`).waitFor(WAIT);
    expect(await card.locator('h2').innerText()).toMatch(/card agent\s+running/);

    // Watch: the agent's steps show in the page, read-only.
    let frame = await viewerFrame(page, id);
    expect(await card.locator('iframe.terminal').getAttribute('data-access')).toBe('read');
    await eventually(
      () => screen(frame),
      (t) => AGENT_STEP.test(t),
    );

    // Pause (soft): the card says paused and by whom; resume is offered, pause is not.
    await card.locator('[data-act="pause"]').click();
    await page.locator(`.task-run[data-task-run-id="${id}"][data-status="paused"]`).waitFor(WAIT);
    expect(await card.locator('[data-field="pause"]').innerText()).toMatch(/paused \(soft\) by human:ops/);
    expect(await card.locator('[data-act="resume"]').isEnabled()).toBe(true);
    expect(await card.locator('[data-act="pause"]').isDisabled()).toBe(true);
    await card.locator('[data-act="resume"]').click();
    await page.locator(`.task-run[data-task-run-id="${id}"][data-status="running"]`).waitFor(WAIT);

    // Message: into the inbox list, and to the agent (its terminal prints what its inbox got).
    await card.locator('input[name="message"]').fill('please rebase first');
    await card.locator('form.message button').click();
    await card.locator('.inbox li[data-seq="1"]', { hasText: 'human:ops: please rebase first' }).waitFor(WAIT);
    await eventually(
      () => card.locator('input[name="message"]').inputValue(),
      (v) => v === '',
    );
    await eventually(
      () => screen(frame),
      (t) => t.includes('please rebase first'),
    );
    // An empty message is refused in the card, nothing is sent.
    await card.locator('form.message button').click();
    await card.locator('.error', { hasText: 'Type a message first.' }).waitFor(WAIT);
    expect((await getRun(cp, id)).messages).toBe(1);

    // Take over: the frame becomes the operator's read-write link, with the grant's countdown.
    await card.locator('[data-act="takeover"]').click();
    await card.locator('[data-field="takeover"]', { hasText: 'taken over by human:ops' }).waitFor(WAIT);
    await card.locator('iframe.terminal[data-access="write"]').waitFor(WAIT);
    const grant = card.locator('.grants li[data-grant-to="human:ops"]');
    await grant.waitFor(WAIT);
    const first = await grant.locator('[data-countdown]').innerText();
    expect(first).toMatch(/^1[45]:\d\d$/);
    await eventually(
      () => grant.locator('[data-countdown]').innerText(),
      (t) => t !== first,
    );
    frame = await viewerFrame(page, id);
    await frame.locator('body[data-state="open"]').waitFor(WAIT);
    await frame.locator('#status[data-access="write"]').waitFor(WAIT);
    await frame.locator('#terminal').click();
    await frame.page().keyboard.type('echo operator-typed-$((6*7))');
    await frame.page().keyboard.press('Enter');
    await eventually(
      () => screen(frame),
      (t) => t.includes('operator-typed-42'),
    );

    // Release needs a summary; with one, the agent runs again and its inbox has it.
    await card.locator('[data-act="release"]').click();
    await card.locator('.error', { hasText: 'needs a summary' }).waitFor(WAIT);
    await card.locator('input[name="summary"]').fill('rebased onto main by hand');
    await card.locator('[data-act="release"]').click();
    await page.locator(`.task-run[data-task-run-id="${id}"][data-status="running"]`).waitFor(WAIT);
    await card.locator('.inbox li[data-seq="2"]', { hasText: 'rebased onto main by hand' }).waitFor(WAIT);
    expect(await card.locator('[data-field="takeover"]').count()).toBe(0);
    await runUntil(cp, id, (r) => r.takeover === null && r.status === 'running');

    // Play the recording: the card links to the terminal's player page, where asciinema-player shows what
    // happened, the operator's command included (the recording is stored every few seconds: reload until then).
    const link = card.locator('a.recording');
    expect(await link.getAttribute('href')).toBe(`/recordings/${reply.task_run.terminal_id}`);
    // The link opens a new tab, signed in as the operator (who may watch the terminal).
    const [player] = await Promise.all([page.waitForEvent('popup', WAIT), link.click()]);
    player.on('pageerror', (e) => errors.push(`player: ${String(e)}`));
    try {
      await player.waitForURL(`${cp.url}/recordings/${reply.task_run.terminal_id}`, WAIT);
      await eventually(
        async () => {
          const res = await player.reload();
          expect(res?.status()).toBe(200);
          await player.locator('body:not([data-state="loading"])').waitFor(WAIT);
          const state = await player.locator('body').getAttribute('data-state');
          if (state !== 'ready') return `page ${state}: ${await player.locator('#notice').innerText()}`;
          // Seek to the end: the whole output on the screen at once, without playing it through. Until the
          // recorder's first store with output, the player has no events to seek in ("recording is missing events").
          const seek = await player
            .evaluate(() =>
              (globalThis as unknown as { tetherPlayer: { seek(t: string): Promise<void> } }).tetherPlayer.seek('100%'),
            )
            .then(
              () => undefined,
              (e: unknown) => `seek failed: ${String(e)}`,
            );
          return seek ?? player.locator('.ap-term').first().innerText();
        },
        (t) => AGENT_STEP.test(t) && t.includes('operator-typed-42'),
        30_000,
      );
    } finally {
      await player.close();
    }

    expect(errors).toEqual([]);
    await page.close();
  }, 120_000); // a whole operator session plus the recorder's store interval: 25-35 s with both cores busy
});
