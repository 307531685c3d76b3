import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { LaneView } from '@tether/contracts';
import { freePort } from '@tether/runtime';
import { api, launchChromium, signIn, useControlPlane } from '../harness/index.ts';

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
    // Besides the stream, only who is signed in (once): no polling.
    expect(requests.filter((p) => p.startsWith('/v1/') && p !== '/v1/stream')).toEqual(['/v1/me']);
    await page.screenshot({ path: `${cp.home}/dashboard.png` });
    await page.close();
  });
});
