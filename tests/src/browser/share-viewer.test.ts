import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { ShareCreated } from '@tether/contracts';
import { eventually, launchChromium, signIn, useControlPlane } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** The viewer's terminal text, from its `window.__tetherViewer` (no DOM types here: the test runs in Node). */
const viewerText = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __tetherViewer: { text(): string } }).__tetherViewer.text());

describe('share viewer in Chromium', () => {
  it('a participant watches, is refused, is granted write and types, then is disconnected by a revoke; the dashboard follows', async () => {
    const { term, session } = await runningTerminal(cp);
    const created = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, access: 'write' });
    expect(created.status).toBe(201);
    const { share, link } = ShareCreated.parse(created.body);
    const shareId = share.share_id;

    // Everything the terminal prints, straight from NATS.
    let out = '';
    const decoder = new TextDecoder();
    const sub = cp.ctx.store.nc.subscribe(`tether.term.${term.terminal_id}.out`, {
      callback: (err, m) => {
        if (!err) out += decoder.decode(m.data);
      },
    });

    // The dashboard shows the share on its terminal: native, nobody connected yet.
    const dashboard = await browser.newPage();
    await signIn(dashboard, cp);
    const badge = dashboard.locator(
      `[data-terminal-id="${term.terminal_id}"] .share-badge[data-share-id="${shareId}"]`,
    );
    await badge.waitFor();
    expect(await badge.getAttribute('data-status')).toBe('active');
    expect(await badge.innerText()).toMatch(/^native · \d\d:\d\d · 0\/1$/);

    // The participant opens the link; the token never goes into a request URL.
    const viewer = await browser.newPage();
    const urls: string[] = [];
    viewer.on('request', (r) => urls.push(r.url()));
    viewer.on('websocket', (ws) => urls.push(ws.url()));
    const errors: string[] = [];
    viewer.on('pageerror', (e) => errors.push(String(e)));
    viewer.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await viewer.goto(link!.url);
    await viewer.locator('body[data-state="open"]').waitFor();
    expect(await viewer.locator('#status').getAttribute('data-access')).toBe('read');
    expect(await viewer.locator('#access').innerText()).toBe('read-only');
    expect(await viewer.locator('#who').innerText()).toBe(link!.name);
    expect(await viewer.locator('#time-left').innerText()).toMatch(/^time left \d\d:\d\d$/);
    expect(urls.some((u) => u.endsWith(`/v1/shares/${shareId}/ws`))).toBe(true);
    expect(urls.filter((u) => u.includes(link!.token))).toEqual([]);
    expect(viewer.url()).not.toContain(link!.token); // taken out of the address bar too

    // What the terminal prints reaches the page.
    cp.ctx.store.nc.publish(
      `tether.term.${term.terminal_id}.in`,
      JSON.stringify({ data: 'echo hello-$((40+2))\r', from: session.session_id }),
    );
    await eventually(
      () => viewerText(viewer),
      (t) => t.includes('hello-42'),
    );
    await dashboard.locator(`.share-badge[data-share-id="${shareId}"]`, { hasText: '1/1' }).waitFor();

    // The detail panel, from a click on the badge.
    await badge.click();
    const detail = dashboard.locator(`#share-detail[data-share-id="${shareId}"]`);
    await detail.waitFor();
    expect(await detail.locator('[data-field="owner"]').innerText()).toBe('human:alice');
    expect(await detail.locator('[data-field="backend"]').innerText()).toBe('native');
    expect(await detail.locator('[data-field="access"]').innerText()).toBe('write');
    expect(await detail.locator('[data-field="policy rule"]').innerText()).toContain('people');
    await detail.locator(`tr[data-participant-id="${link!.participant_id}"][data-connected="true"]`).waitFor();

    // Read-only: keystrokes are refused and never reach the terminal.
    const typeLine = async () => {
      await viewer.locator('#terminal').click();
      await viewer.keyboard.type('echo viewer-typed-$((3*3))');
      await viewer.keyboard.press('Enter');
    };
    await typeLine();
    await viewer.locator('#notice[data-kind="refused"]').waitFor();
    expect(await viewer.locator('#notice').innerText()).toContain('read-only');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(out).toContain('hello-42');
    expect(out).not.toContain('viewer-typed');

    // The owner grants write: the page says so, and the same keystrokes now run.
    const grant = await as(
      cp,
      'human:alice',
      'POST',
      `/v1/shares/${shareId}/participants/${link!.participant_id}/grant-write`,
      {},
    );
    expect(grant.status).toBe(200);
    await viewer.locator('#status[data-access="write"]').waitFor();
    expect(await viewer.locator('#access').innerText()).toMatch(/^read-write until \d\d:\d\d$/);
    await typeLine();
    await eventually(
      () => out,
      (o) => o.includes('viewer-typed-9'),
    );
    await eventually(
      () => viewerText(viewer),
      (t) => t.includes('viewer-typed-9'),
    );
    await detail.locator(`tr[data-participant-id="${link!.participant_id}"] td`, { hasText: 'write until' }).waitFor();

    // Revoke: the viewer is disconnected with the reason; the badge goes, the detail shows the end.
    const revoked = await as(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/revoke`, { reason: 'demo over' });
    expect(revoked.status).toBe(200);
    await viewer.locator('body[data-state="closed"]').waitFor();
    const banner = await viewer.locator('#banner').innerText();
    expect(banner).toMatch(/^Disconnected: /);
    expect(banner).toContain('revoked');
    expect(banner).toContain('demo over');
    expect(errors).toEqual([]); // no script errors, no CSP refusals
    await badge.waitFor({ state: 'detached' });
    await dashboard.locator('#share-detail[data-status="ended"]').waitFor();
    expect(await detail.locator('[data-field="ended"]').innerText()).toMatch(/^revoked: demo over \(human:alice, /);

    sub.unsubscribe();
    await viewer.screenshot({ path: `${cp.home}/share-viewer.png` });
    await dashboard.screenshot({ path: `${cp.home}/dashboard-share.png` });
    await viewer.close();
    await dashboard.close();
  });

  it('the dashboard flags a share in its grace period, and clears the flag when the owner extends it', async () => {
    const { term } = await runningTerminal(cp);
    // 2 min left is inside the default 5 min warning window: the share starts in its grace period.
    const { share } = ShareCreated.parse(
      (await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, ttl_ms: 120_000 })).body,
    );
    const page = await browser.newPage();
    await signIn(page, cp);
    const badge = page.locator(`.share-badge[data-share-id="${share.share_id}"]`);
    await page
      .locator(`.share-badge[data-share-id="${share.share_id}"][data-status="expiring"][data-warning="true"]`)
      .waitFor();
    expect(await badge.innerText()).toMatch(/^native · 0[12]:\d\d · 0\/1$/);
    expect(
      (await as(cp, 'human:alice', 'POST', `/v1/shares/${share.share_id}/extend`, { ttl_ms: 600_000 })).status,
    ).toBe(200);
    await page
      .locator(`.share-badge[data-share-id="${share.share_id}"][data-status="active"][data-warning="false"]`)
      .waitFor();
    expect(await badge.innerText()).toMatch(/^native · 1[12]:\d\d · 0\/1$/);
    await as(cp, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, {});
    await badge.waitFor({ state: 'detached' });
    await page.close();
  });

  it('an operator approves and denies held shares from the dashboard; the requester cannot approve its own', async () => {
    const { term } = await runningTerminal(cp);
    const first = (await createShare(cp, 'ai:codex', { terminal_id: term.terminal_id })).body.share;
    const second = (await createShare(cp, 'ai:codex', { terminal_id: term.terminal_id })).body.share;
    expect([first.status, second.status]).toEqual(['awaiting_approval', 'awaiting_approval']);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await signIn(page, cp);
    const row = (id: string) => page.locator(`#approvals [data-approval-id="${id}"]`);
    await row(first.share_id).waitFor();
    expect(await row(first.share_id).innerText()).toContain('ai:codex asks to share terminal');

    // The requester, an agent, may not decide its own request (nor any), and a page POST without the
    // session's CSRF token is refused before anything is written.
    expect((await as(cp, 'ai:codex', 'POST', `/v1/approvals/${first.share_id}/approve`, {})).body).toMatchObject({
      error: { code: 'FORBIDDEN', reason: 'agents-act-where-allowed' },
    });
    const withoutCsrf = await page.evaluate(
      async (id) =>
        (
          await fetch(`/v1/approvals/${id}/approve`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          })
        ).status,
      first.share_id,
    );
    expect(withoutCsrf).toBe(403);

    await page.fill(`input[data-note="${first.share_id}"]`, 'pairing');
    await row(first.share_id).locator('[data-decide="approve"]').click();
    await row(first.share_id).waitFor({ state: 'detached' });
    await eventually(
      () => as<{ status: string }>(cp, 'human:ops', 'GET', `/v1/shares/${first.share_id}`),
      (r) => r.body.status === 'active',
    );
    const approved = (
      await as<{ decided_by: string; decision_note: string }>(cp, 'human:ops', 'GET', `/v1/approvals/${first.share_id}`)
    ).body;
    expect(approved).toMatchObject({ decided_by: 'human:ops', decision_note: 'pairing' });

    await row(second.share_id).locator('[data-decide="deny"]').click();
    await row(second.share_id).locator('.error', { hasText: 'needs a reason' }).waitFor();
    await page.fill(`input[data-note="${second.share_id}"]`, 'not today');
    await row(second.share_id).locator('[data-decide="deny"]').click();
    await page.locator('#approvals').waitFor({ state: 'hidden' });
    const denied = await eventually(
      () =>
        as<{ status: string; ended: { reason: string; detail: string } }>(
          cp,
          'human:ops',
          'GET',
          `/v1/shares/${second.share_id}`,
        ),
      (r) => r.body.status === 'ended',
    );
    expect(denied.body.ended).toMatchObject({ reason: 'denied', detail: expect.stringContaining('not today') });
    expect(errors).toEqual([]);
    await as(cp, 'human:ops', 'POST', `/v1/shares/${first.share_id}/revoke`, {});
    await page.close();
  });

  it('the page: a bad share id is a 404 in the gateway error shape; the HTML never holds the token', async () => {
    const bad = await fetch(`${cp.url}/v/bad%20id!`);
    expect(bad.status).toBe(404);
    expect(await bad.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await fetch(`${cp.url}/v/${'x'.repeat(129)}`)).status).toBe(404);
    expect((await fetch(`${cp.url}/viewer/..%2Fpackage.json`)).status).toBe(404);

    const { term } = await runningTerminal(cp);
    const { link } = ShareCreated.parse((await createShare(cp, 'human:alice', { terminal_id: term.terminal_id })).body);
    const page = await fetch(link!.url); // fetch drops the #fragment, as browsers do
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('/viewer/viewer.js');
    expect(html).not.toContain(link!.token);
    for (const asset of ['viewer.js', 'viewer.css', 'xterm.js', 'xterm.css', 'addon-fit.js'])
      expect((await fetch(`${cp.url}/viewer/${asset}`)).status).toBe(200);
  });
});

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
    // The size measured before xterm.js ran is the one xterm's fit addon finds (else a resize corrects it).
    const own = await page.evaluate(
      () => (globalThis as unknown as { __tetherViewer: { size(): { own: unknown } } }).__tetherViewer.size().own,
    );
    expect({ cols: hello.cols, rows: hello.rows }).toEqual(own);
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
