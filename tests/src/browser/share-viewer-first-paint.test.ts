import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { ShareCreated } from '@tether/contracts';
import { eventually, launchChromium, useControlPlane } from '../harness/index.ts';
import { createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const viewerText = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __tetherViewer: { text(): string } }).__tetherViewer.text());

/** A share link of a fresh terminal that prints `marker` (two words joined by "-"). */
async function linkPrinting(marker: string) {
  const { term, session } = await runningTerminal(cp);
  cp.ctx.store.nc.publish(
    `tether.term.${term.terminal_id}.in`,
    JSON.stringify({ data: `printf '%s-%s\\n' ${marker.replace('-', ' ')}\r`, from: session.session_id }), // the command line is not the marker
  );
  const { link } = ShareCreated.parse((await createShare(cp, 'human:alice', { terminal_id: term.terminal_id })).body);
  return link!;
}

describe('share viewer: first paint', () => {
  it('the hello goes and the welcome and output come back while xterm.js is still loading; then the page draws them', async () => {
    const link = await linkPrinting('early-bytes');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    // xterm.js is held at the server's door until the relay has answered the page's hello.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let xtermAsked = false;
    await page.route('**/viewer/xterm.js*', async (route: Route) => {
      xtermAsked = true;
      await held;
      await route.continue();
    });
    const sent: string[] = [];
    const received: string[] = [];
    let binaryBytes = 0;
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => void (typeof f.payload === 'string' && sent.push(f.payload)));
      ws.on('framereceived', (f) => {
        if (typeof f.payload === 'string') received.push(f.payload);
        else binaryBytes += f.payload.length;
      });
    });

    await page.goto(link.url, { waitUntil: 'commit' });
    await eventually(
      () => ({ received, binaryBytes }),
      (r) => r.received.some((m) => JSON.parse(m).type === 'welcome') && r.binaryBytes > 0,
    );
    expect(xtermAsked).toBe(true);
    expect(await page.evaluate('typeof Terminal')).toBe('undefined'); // xterm.js has not run
    const hello = JSON.parse(sent[0]!);
    expect(hello).toMatchObject({ type: 'hello', token: link.token, via: 'browser' });
    expect(await page.locator('body').getAttribute('data-state')).toBe('connecting');

    release();
    await page.locator('body[data-state="open"]').waitFor();
    await eventually(
      () => viewerText(page),
      (t) => t.includes('early-bytes'),
    );
    expect(page.url()).not.toContain(link.token);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('xterm.js that does not load: the page says so instead of hanging', async () => {
    const link = await linkPrinting('never-drawn');
    const page = await browser.newPage();
    await page.route('**/viewer/xterm.js*', (route: Route) => route.abort());
    await page.goto(link.url);
    await page.locator('body[data-state="closed"]').waitFor();
    expect(await page.locator('#banner').innerText()).toMatch(/terminal \(xterm\.js\) could not be loaded/);
    await page.close();
  });

  it('the page names its files by content hash: immutable, compressed, and 304 when asked again', async () => {
    const link = await linkPrinting('cached-assets');
    const html = await (await fetch(link.url)).text();
    const xtermUrl = /href="(\/viewer\/xterm\.js\?v=[\w-]+)"/.exec(html)?.[1];
    expect(xtermUrl).toBeDefined();
    for (const asset of ['viewer.js', 'viewer.css', 'xterm.css', 'addon-fit.js'])
      expect(html).toMatch(new RegExp(`"/viewer/${asset.replace('.', '\\.')}\\?v=[\\w-]{16}"`));

    const xtermFile = fileURLToPath(import.meta.resolve('@xterm/xterm'));
    for (const [accept, encoding] of [
      ['br, gzip', 'br'],
      ['gzip', 'gzip'],
      ['identity', null],
    ] as const) {
      const res = await fetch(`${cp.url}${xtermUrl}`, { headers: { 'accept-encoding': accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-encoding')).toBe(encoding);
      expect(res.headers.get('vary')).toBe('accept-encoding');
      expect(await res.text()).toBe(readFileSync(xtermFile, 'utf8')); // fetch decodes what it was sent
    }
    const etag = (await fetch(`${cp.url}${xtermUrl}`)).headers.get('etag')!;
    expect(etag).toMatch(/^W\/"[\w-]{16}"$/);
    const again = await fetch(`${cp.url}${xtermUrl}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');

    // Asked without its version (or an old one) a file is checked each time, still answered 304 unchanged.
    for (const url of ['/viewer/xterm.js', '/viewer/xterm.js?v=old']) {
      const res = await fetch(`${cp.url}${url}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect((await fetch(`${cp.url}${url}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    }
    expect((await fetch(`${cp.url}/viewer/nothing.js`)).status).toBe(404);
  });

  it('a second open in the same browser takes xterm.js from its cache, not the server', async () => {
    const link = await linkPrinting('second-open');
    const context = await browser.newContext();
    const asked: string[] = [];
    const page = await context.newPage();
    page.on('requestfinished', (r) => void (r.url().includes('/viewer/xterm.js') && asked.push(r.url())));
    await page.goto(link.url);
    await page.locator('body[data-state="open"]').waitFor();
    const second = await context.newPage();
    const cdp = await context.newCDPSession(second);
    await cdp.send('Network.enable');
    const cached: string[] = [];
    cdp.on('Network.requestServedFromCache', (e) => cached.push(e.requestId));
    const served: Record<string, string> = {};
    cdp.on('Network.responseReceived', (e) => {
      if (e.response.url.includes('/viewer/xterm.js')) served[e.requestId] = e.response.fromDiskCache ? 'cache' : 'net';
    });
    await second.goto(link.url);
    await second.locator('body[data-state="open"]').waitFor();
    expect(asked.length).toBeGreaterThan(0);
    expect(Object.values(served).length).toBeGreaterThan(0);
    expect(Object.entries(served).every(([id, via]) => via === 'cache' || cached.includes(id))).toBe(true);
    await context.close();
  });
});
