import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import { isTetherUrl } from './openapi-checker.ts';
import { tetherResponses } from './tether-responses.ts';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** One Chromium for a test file: launched before its tests, closed after them. */
export function useChromium(): { browser: Browser } {
  const held = {} as { browser: Browser };
  beforeAll(async () => {
    held.browser = await launchChromium();
  });
  afterAll(async () => {
    await held.browser?.close();
  });
  return held;
}

/** Real Chromium (Debian package) driven by playwright-core; flags for a closed network and root. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_BIN)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // What a page fetches from tether is checked against /openapi.json too, like the tests' own fetch.
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (options) => checkingResponses(await newPage(options));
  return browser;
}

/** Judges each response from tether that the page gets; a violation is in the file's tally, which fails the file. */
function checkingResponses(page: Page): Page {
  const judge = async (r: Response) => {
    if (!isTetherUrl(r.url())) return;
    const contentType = r.headers()['content-type'] ?? '';
    // A page closed before the body arrived has nothing left to judge.
    const body = tetherResponses.wantsBody(contentType) ? await r.json().catch(() => undefined) : undefined;
    if (body === undefined && tetherResponses.wantsBody(contentType)) return;
    tetherResponses.judge({ method: r.request().method(), url: r.url(), status: r.status(), contentType, body });
  };
  page.on('response', (r) => tetherResponses.track(judge(r)));
  return page;
}

/** Signs a page in with a one-time link (`loginLink` from the server): it lands on the dashboard. */
export async function signIn(page: Page, t: { url: string; server: { loginLink(): Promise<{ url: string }> } }) {
  await page.goto((await t.server.loginLink()).url);
  await page.waitForURL(`${t.url}/`);
}

/** Signs a page in as whoever `t`'s token speaks for: a one-time link made with that token. */
export async function signInWith(page: Page, t: { url: string; token: string }) {
  const res = await fetch(`${t.url}/v1/login-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.token}` },
  });
  if (res.status !== 201) throw new Error(`no sign-in link for this token: ${res.status} ${await res.text()}`);
  await page.goto(((await res.json()) as { url: string }).url);
  await page.waitForURL(`${t.url}/`);
}
