import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ShareCreated } from '@tether/contracts';
import { termSubjects } from '@tether/workers';
import {
  TcpLine,
  TetherProcess,
  eventually,
  gitRepo,
  killTmuxServers,
  launchChromium,
  useNats,
} from '../harness/index.ts';
import { as, policyFile, runningTerminal } from '../sharing/helpers.ts';

// The browser viewer comes back on its own after a network blip and after tether restarts, with the
// output intact and nothing shown twice. Chromium reaches tether through a TCP line of the test's (harness TcpLine), so
// the test can cut the line (every socket at once) and point it at the next tether.
const ctx = useNats();
const home = mkdtempSync(join(tmpdir(), 'tether-reconnect-'));
const SHOTS = join(process.cwd(), '.test-results', 'screenshots');
let env: Record<string, string>;
let tether: TetherProcess;
let browser: Browser;
let line: TcpLine;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  env = {
    NATS_URL: ctx.nats.url,
    TETHER_HOME: home,
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
    TETHER_SHARE_POLICY: policyFile(),
  };
  tether = await TetherProcess.start(env);
  line = await TcpLine.open(Number(new URL(tether.url).port));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  line?.close();
  await tether?.kill();
  await killTmuxServers(home);
});

type ViewerApi = { __tetherViewer: { text(): string } };
const textOf = (page: Page) => page.evaluate(() => (globalThis as unknown as ViewerApi).__tetherViewer.text());
/** How many lines of the page's terminal are exactly `text`. */
const linesIs = async (page: Page, text: string) => (await textOf(page)).split('\n').filter((l) => l === text).length;
/** Waits until the page shows the line `text` exactly once. */
const showsOnce = (page: Page, text: string) =>
  eventually(
    () => linesIs(page, text),
    (n) => n === 1,
  );

type StatesApi = { __states: string[] };
/** Records each state the page passes through (with its banner), however briefly it is in it. */
const recordStates = (page: Page) =>
  page.evaluate(`
    window.__states = [];
    new MutationObserver(() =>
      __states.push(document.body.dataset.state + ' ' + document.getElementById('banner').textContent),
    ).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
  `);
const statesOf = (page: Page) => page.evaluate(() => (globalThis as unknown as StatesApi).__states);

async function watchedTerminal() {
  const { term, session } = await runningTerminal(tether);
  const created = await as<ShareCreated>(tether, 'human:alice', 'POST', '/v1/shares', {
    terminal_id: term.terminal_id,
    ttl_ms: 600_000,
  });
  const { link, share } = ShareCreated.parse(created.body);
  const say = (text: string) =>
    ctx.store.nc.publish(
      termSubjects.in(term.terminal_id),
      JSON.stringify({ data: `echo ${text}\r`, from: session.session_id }),
    );
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(line.via(link!.url));
  await page.locator('body[data-state="open"]').waitFor();
  return { term, share, page, say, errors };
}

describe('the share viewer reconnects in Chromium', () => {
  it('after a network blip it resumes where it was: the lines printed meanwhile arrive, nothing twice', async () => {
    const { page, say, share, errors } = await watchedTerminal();
    say('BEFORE-$((6*7))');
    await showsOnce(page, 'BEFORE-42');
    await recordStates(page);
    line.down = true;
    line.cut();
    say('DURING-$((6*7))'); // printed while the page is away
    await eventually(
      () => statesOf(page),
      (s) => s.some((x) => x.startsWith('reconnecting')),
    );
    await new Promise((r) => setTimeout(r, 500));
    line.down = false;
    await page.locator('body[data-state="open"]').waitFor();
    expect((await statesOf(page)).find((x) => x.startsWith('reconnecting'))).toMatch(/^reconnecting reconnecting…/);
    say('AFTER-$((6*7))');
    await showsOnce(page, 'AFTER-42');
    expect(await linesIs(page, 'BEFORE-42')).toBe(1);
    expect(await linesIs(page, 'DURING-42')).toBe(1);
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect(errors).toEqual([]);

    // A revoke is final: the page stops and says why, and does not come back.
    await as(tether, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, { reason: 'done for today' });
    await page.locator('body[data-state="closed"]').waitFor();
    expect(await page.locator('#banner').innerText()).toContain('done for today');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await page.evaluate('document.body.dataset.state')).toBe('closed');
    await page.close();
  });

  it('after tether restarts it starts over from the new scrollback: the screen is reset, so the output shows once', async () => {
    const { page, say, share, errors } = await watchedTerminal();
    say('MARKER-$((6*7))');
    await showsOnce(page, 'MARKER-42');
    const before = await page.evaluate(() =>
      (globalThis as unknown as { __tetherViewer: { position(): { stream: string } } }).__tetherViewer.position(),
    );

    // A restart: tether shuts down (its relays close with 4503 "shutting down"), the next one starts on the same home.
    await recordStates(page);
    await tether.kill('SIGTERM');
    await eventually(
      () => statesOf(page),
      (s) => s.some((x) => x.startsWith('reconnecting')),
    );
    tether = await TetherProcess.start(env);
    line.upstream = Number(new URL(tether.url).port);
    await page.locator('body[data-state="open"]').waitFor({ timeout: 45_000 });
    const after = await page.evaluate(() =>
      (globalThis as unknown as { __tetherViewer: { position(): { stream: string } } }).__tetherViewer.position(),
    );
    expect(after.stream).not.toBe(before.stream);
    say('AFTER-RESTART-$((6*7))');
    await showsOnce(page, 'AFTER-RESTART-42');
    expect(await linesIs(page, 'MARKER-42')).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'viewer-after-restart.png') });
    expect(errors).toEqual([]);
    await as(tether, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, {});
    await page.locator('body[data-state="closed"]').waitFor();
    await page.close();
  });
});
