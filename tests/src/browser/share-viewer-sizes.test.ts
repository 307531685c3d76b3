import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';
import { ShareCreated } from '@tether/contracts';
import { findExecutable } from '@tether/sharing';
import { termSubjects } from '@tether/workers';
import { eventually, launchChromium, useControlPlane } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

// Sizes in the browser viewer: the writer's size wins, full-screen programs draw as tmux draws them,
// read-only viewers are scaled (never below 12 px) and scrolled, and a phone in landscape works.
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
const HAS_VIM = findExecutable('vim');
if (!HAS_VIM)
  console.warn('share-viewer-sizes.test: the vim test is skipped because `vim` is not installed (apt-get install vim)');
const SHOTS = join(process.cwd(), '.test-results', 'screenshots');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

interface ViewerSize {
  cols: number;
  rows: number;
  fontSize: number;
  own: { cols: number; rows: number } | null;
}
type ViewerApi = { __tetherViewer: { screen(): string[]; size(): ViewerSize } };
const viewerOf = (page: Page) => page.evaluate(() => (globalThis as unknown as ViewerApi).__tetherViewer.size());
const screenOf = (page: Page) => page.evaluate(() => (globalThis as unknown as ViewerApi).__tetherViewer.screen());

/** The terminal is drawn whole in its box: nothing to scroll. */
const fitsItsBox = (page: Page) =>
  page.evaluate(
    `(() => { const box = document.getElementById('terminal'); return box.scrollWidth <= box.clientWidth && box.scrollHeight <= box.clientHeight; })()`,
  );
const tmux = (...args: string[]) => execa('tmux', ['-S', join(cp.home, 'terminals', 'tmux.sock'), ...args]);
const paneSize = async (id: string) =>
  (await tmux('display-message', '-p', '-t', `=${id}:`, '#{pane_width}x#{pane_height}')).stdout.trim();
/** Rows as they show, trailing blanks and blank rows at the bottom cut (capture-pane and xterm pad differently). */
const normal = (rows: string[]) => {
  const out = rows.map((r) => r.trimEnd());
  while (out.length && out.at(-1) === '') out.pop();
  return out;
};
/** Waits until the page's screen is tmux's screen of the pane, row for row. */
async function sameScreen(page: Page, id: string, mustShow: string) {
  const pair = await eventually(
    async () => ({
      tmux: normal((await tmux('capture-pane', '-p', '-t', `=${id}:`)).stdout.split('\n')),
      page: normal(await screenOf(page)),
    }),
    (p) => p.tmux.join('\n').includes(mustShow) && p.page.join('\n') === p.tmux.join('\n'),
    20_000,
  ).catch(async (err) => {
    const tmuxNow = (await tmux('capture-pane', '-p', '-t', `=${id}:`)).stdout;
    throw new Error(`${err}\n--- tmux ---\n${tmuxNow}\n--- page ---\n${normal(await screenOf(page)).join('\n')}`);
  });
  return pair.tmux;
}

/** A shared terminal with a granted writer's page of `viewport`, and the way to type into it. */
async function sharedWithWriter(viewport: { width: number; height: number }) {
  const { term, session } = await runningTerminal(cp);
  const { share, link } = ShareCreated.parse(
    (
      await createShare(cp, 'human:alice', {
        terminal_id: term.terminal_id,
        access: 'write',
        participant: 'alice',
      })
    ).body,
  );
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(link!.url);
  await page.locator('body[data-state="open"]').waitFor();
  const grant = await as(
    cp,
    'human:alice',
    'POST',
    `/v1/shares/${share.share_id}/participants/${link!.participant_id}/grant-write`,
    {},
  );
  expect(grant.status).toBe(200);
  const own = (await viewerOf(page)).own!;
  // The writer's size wins: tmux takes the page's size and the status bar says whose it is.
  await page.locator('#size', { hasText: `sized by alice, ${own.cols}x${own.rows}` }).waitFor();
  await eventually(
    () => paneSize(term.terminal_id),
    (s) => s === `${own.cols}x${own.rows}`,
  );
  const type = (data: string) =>
    cp.ctx.store.nc.publish(termSubjects.in(term.terminal_id), JSON.stringify({ data, from: session.session_id }));
  return { term, share, link: link!, page, own, type, errors };
}

describe('share viewer sizes in Chromium', () => {
  it('top in a shared terminal shows in the browser exactly as tmux has the pane, for the writer and, scaled, for a smaller read-only viewer', async () => {
    const w = await sharedWithWriter({ width: 1100, height: 700 });
    const size = await viewerOf(w.page);
    expect(size).toMatchObject({ cols: w.own.cols, rows: w.own.rows, fontSize: 14 });
    // At its own size the writer's terminal fits its box: nothing to scroll.
    expect(await fitsItsBox(w.page)).toBe(true);

    // A read-only viewer in a smaller window: same cells as the pane, font scaled but at least 12 px.
    const invite = await as<{ url: string }>(cp, 'human:alice', 'POST', `/v1/shares/${w.share.share_id}/participants`, {
      name: 'bob',
    });
    const small = await browser.newPage({ viewport: { width: 700, height: 450 } });
    await small.goto(invite.body.url);
    await small.locator('body[data-state="open"]').waitFor();
    await small.locator('#size', { hasText: `sized by alice, ${w.own.cols}x${w.own.rows}` }).waitFor();
    const scaled = await viewerOf(small);
    expect(scaled).toMatchObject({ cols: w.own.cols, rows: w.own.rows });
    expect(scaled.fontSize).toBeGreaterThanOrEqual(12);
    expect(scaled.fontSize).toBeLessThan(14);
    // Its own smaller size did not change the terminal (it may not type).
    expect(await paneSize(w.term.terminal_id)).toBe(`${w.own.cols}x${w.own.rows}`);

    w.type('top -d 30\r');
    const topScreen = await sameScreen(w.page, w.term.terminal_id, 'load average');
    expect(topScreen.length).toBeGreaterThan(10);
    await sameScreen(small, w.term.terminal_id, 'load average');
    await w.page.screenshot({ path: join(SHOTS, 'viewer-top-writer.png') });
    await small.screenshot({ path: join(SHOTS, 'viewer-top-read-only.png') });
    w.type('q');
    await eventually(
      () => tmux('capture-pane', '-p', '-t', `=${w.term.terminal_id}:`),
      (r) => !r.stdout.includes('load average'),
    );
    expect(w.errors).toEqual([]);
    await small.close();
    await w.page.close();
    await as(cp, 'human:alice', 'POST', `/v1/shares/${w.share.share_id}/revoke`, {});
  });

  it.skipIf(!HAS_VIM)('vim, resized by the writer while it runs, redraws in the browser as in tmux', async () => {
    const w = await sharedWithWriter({ width: 1000, height: 640 });
    const file = join(mkdtempSync(join(tmpdir(), 'tether-vim-')), 'poem.txt');
    writeFileSync(
      file,
      Array.from({ length: 300 }, (_, i) => `line ${i + 1}: ${'shared terminals '.repeat(i % 7)}`).join('\n'),
    );
    w.type(`vim -u NONE -N -i NONE '${file}'\r`);
    const first = await sameScreen(w.page, w.term.terminal_id, 'line 1:');
    expect(first.at(-1)).toContain('poem.txt'); // vim's own status line, on the pane's last row
    // The writer's window shrinks: tmux follows, vim redraws, the page shows the same.
    await w.page.setViewportSize({ width: 760, height: 480 });
    const own = await eventually(
      () => viewerOf(w.page),
      (s) => s.own!.cols < w.own.cols,
    );
    await eventually(
      () => paneSize(w.term.terminal_id),
      (s) => s === `${own.own!.cols}x${own.own!.rows}`,
    );
    w.type('30G');
    await sameScreen(w.page, w.term.terminal_id, 'line 30:');
    await w.page.screenshot({ path: join(SHOTS, 'viewer-vim.png') });
    w.type('\x1b:q!\r');
    expect(w.errors).toEqual([]);
    await w.page.close();
    await as(cp, 'human:alice', 'POST', `/v1/shares/${w.share.share_id}/revoke`, {});
  });

  it('on a phone held in landscape the page fills the screen with a readable font and never scrolls as a page', async () => {
    const { term } = await runningTerminal(cp);
    const { share, link } = ShareCreated.parse(
      (await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, access: 'write', participant: 'pat' }))
        .body,
    );
    const phone = await browser.newPage({
      viewport: { width: 844, height: 390 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 3,
    });
    await phone.goto(link!.url);
    await phone.locator('body[data-state="open"]').waitFor();
    const layout = () =>
      phone.evaluate(`(() => {
        const box = document.getElementById('terminal').getBoundingClientRect();
        const rows = document.querySelector('.xterm-rows');
        return {
          innerWidth,
          innerHeight,
          pageHeight: document.documentElement.scrollHeight,
          pageWidth: document.documentElement.scrollWidth,
          box: { top: box.top, bottom: box.bottom, width: box.width },
          font: rows ? Number.parseFloat(getComputedStyle(rows).fontSize) : 0,
        };
      })()`) as Promise<{
        innerWidth: number;
        innerHeight: number;
        pageHeight: number;
        pageWidth: number;
        box: { top: number; bottom: number; width: number };
        font: number;
      }>;
    // Read-only of a 200x50 terminal: the smallest readable font, the rest scrolls inside the terminal's box.
    const ro = await layout();
    expect(ro.font).toBeGreaterThanOrEqual(12);
    expect(ro.pageHeight).toBeLessThanOrEqual(ro.innerHeight);
    expect(ro.pageWidth).toBeLessThanOrEqual(ro.innerWidth);
    expect(ro.box.bottom).toBeCloseTo(ro.innerHeight, 0);
    expect(ro.box.width).toBeCloseTo(ro.innerWidth, 0);
    expect(ro.box.top).toBeLessThan(60); // a slim status bar
    await phone.screenshot({ path: join(SHOTS, 'viewer-phone-read-only.png') });

    // Granted write, the phone's own size wins: the terminal fits the screen at the base font, no scrolling.
    await as(
      cp,
      'human:alice',
      'POST',
      `/v1/shares/${share.share_id}/participants/${link!.participant_id}/grant-write`,
      {},
    );
    const own = (await viewerOf(phone)).own!;
    await phone.locator('#size', { hasText: `sized by pat, ${own.cols}x${own.rows}` }).waitFor();
    const rw = await layout();
    expect(rw.font).toBeGreaterThanOrEqual(12);
    expect(rw.pageHeight).toBeLessThanOrEqual(rw.innerHeight);
    expect(await fitsItsBox(phone)).toBe(true);
    expect(own.cols).toBeGreaterThanOrEqual(80);
    expect(own.rows).toBeGreaterThanOrEqual(15);
    await phone.screenshot({ path: join(SHOTS, 'viewer-phone-writer.png') });
    await phone.close();
    await as(cp, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, {});
  });
});
