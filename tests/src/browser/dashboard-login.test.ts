import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { LoginLink, Me } from '@tether/contracts';
import { api, useChromium, useControlPlane } from '../harness/index.ts';

// The dashboard in real Chromium signs in with a one-time link (the token in the fragment): the session
// cookie is HttpOnly and SameSite=Strict, the link works once, and a change the page sends without the
// session's CSRF token is refused.

const cp = useControlPlane();
const chromium = useChromium();

/** The page's document, typed for what the test reads (no DOM types here: the test runs in Node). */
interface PageDocument {
  cookie: string;
  getElementById(id: string): { textContent: string | null } | null;
}

/** A fetch from inside the page (its cookies, its origin): status and JSON body. */
const fetchInPage = (
  page: Page,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
) =>
  page.evaluate(
    async ({ path, init }) => {
      const r = await fetch(path, init);
      return { status: r.status, body: (await r.json().catch(() => null)) as unknown };
    },
    { path, init },
  );

describe('dashboard sign-in in Chromium', () => {
  let link: LoginLink;
  let signedIn: Page;

  it('without a session the dashboard says it is not signed in, and streams nothing', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(`${cp.url}/`);
    const who = page.locator('#who[data-state="signed-out"]');
    await who.waitFor({ timeout: 30_000 });
    expect(await who.innerText()).toMatch(/not signed in.*tether login/);
    expect((await fetchInPage(page, '/v1/me', {})).status).toBe(401);
    await page.close();
  });

  it('the one-time link signs in as the owner; the cookie is HttpOnly and SameSite=Strict', async () => {
    const owner = (await api<Me>(cp, 'GET', '/v1/me')).body;
    link = await cp.server.loginLink();
    expect(link.url).toMatch(new RegExp(`^${cp.url}/login#token=tth_`));
    signedIn = await chromium.browser.newPage();
    const errors: string[] = [];
    signedIn.on('pageerror', (e) => errors.push(String(e)));
    await signedIn.goto(link.url);
    await signedIn.waitForURL(`${cp.url}/`, { timeout: 30_000 });
    const who = signedIn.locator('#who');
    await signedIn.waitForFunction(
      () =>
        (globalThis as unknown as { document: PageDocument }).document
          .getElementById('who')
          ?.textContent?.includes('('),
      undefined,
      { timeout: 30_000 },
    );
    expect(await who.innerText()).toBe(`${owner.actor} (${owner.role})`);
    expect(owner.role).toBe('operator');
    // Signed in, the page streams (the cookie works for the event stream too).
    await signedIn.locator('#connection[data-state="open"]').waitFor({ timeout: 30_000 });

    const cdp = await signedIn.context().newCDPSession(signedIn);
    const { cookies } = (await cdp.send('Network.getCookies', { urls: [cp.url] })) as {
      cookies: Array<{ name: string; value: string; httpOnly: boolean; sameSite?: string; path: string }>;
    };
    const session = cookies.find((c) => c.name === 'tether_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // The cookie holds a session credential of its own, not the link's token, and the page cannot read it.
    expect(session!.value).not.toBe(new URL(link.url).hash.replace('#token=', ''));
    expect(
      await signedIn.evaluate(() => (globalThis as unknown as { document: PageDocument }).document.cookie),
    ).not.toContain('tether_session');
    // The token left the address bar.
    expect(signedIn.url()).not.toContain('token');

    const me = await fetchInPage(signedIn, '/v1/me', {});
    expect(me).toMatchObject({
      status: 200,
      body: { actor: owner.actor, role: 'operator', csrf_token: expect.any(String) },
    });
    expect((me.body as Me).credential_id).not.toBe(owner.credential_id); // a session, not the owner's token
    expect(errors).toEqual([]);
  });

  it('the same link a second time does not sign in: it was used', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(link.url);
    const status = page.locator('#login-status[data-state="failed"]');
    await status.waitFor({ timeout: 30_000 });
    expect(await status.innerText()).toMatch(/Could not sign in: .*was used/);
    expect((await fetchInPage(page, '/v1/me', {})).status).toBe(401);
    await page.close();
  });

  it('a change the page sends with the cookie but without X-Tether-Csrf is 403 CSRF; with it, it is let through', async () => {
    const post = (headers: Record<string, string>) =>
      fetchInPage(signedIn, '/v1/approvals/x/approve', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
    expect(await post({})).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', reason: 'CSRF' } } });
    expect(await post({ 'x-tether-csrf': 'forged' })).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', reason: 'CSRF' } },
    });
    const csrf = ((await fetchInPage(signedIn, '/v1/me', {})).body as Me).csrf_token!;
    // Past authentication: approval "x" does not exist.
    expect(await post({ 'x-tether-csrf': csrf })).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });

    // Signing out with the CSRF token ends the session.
    expect(
      (await fetchInPage(signedIn, '/logout', { method: 'POST', headers: { 'x-tether-csrf': csrf } })).status,
    ).toBe(204);
    expect((await fetchInPage(signedIn, '/v1/me', {})).status).toBe(401);
    await signedIn.close();
  });
});
