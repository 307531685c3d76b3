import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ShareCreated } from '@tether/contracts';
import { NatsServer, TcpLine, gitRepo, launchChromium } from '@tether/tests';
import { mergeResults } from './results-file.ts';
import { startTerminals } from './sharing.ts';
import { startTether } from './tether-server.ts';
import { log, percentile } from './timing.ts';

// The share viewer in real Chromium (playwright-core, the Debian package) against `tether up` on the
// bench's nats-server, real tmux and bash. Every clock that matters is read inside the page:
// - viewerFirstPaintP95Ms: navigation start of a participant's link in a fresh browser context → the
//   terminal's output is in the page's DOM (xterm's DOM renderer; the frame that paints it). Baseline:
//   the same page without a token (the same HTML, scripts and styles from the same server, no
//   WebSocket) → its "no token" banner is in the DOM.
// - keystrokeEchoP95Ms: the keydown in a granted viewer's page → the echoed character is in the DOM.
//   Baseline: a raw WebSocket round trip from the page to the relay (a read-only participant's input
//   and the relay's `refused`), with no NATS, tmux or shell on the way.
// - reconnectP95Ms: every connection through a TCP line between Chromium and tether reset at once (a
//   blip) → output printed after the cut is in the page's DOM, the page having reconnected on its own.
//   Baseline: a fresh WebSocket from the page to the relay, open → welcome.
// - revokeBrowserP95Ms: POST …/revoke sent → every one of 7 viewer pages shows it is disconnected
//   (`body[data-state=closed]`, stamped in each page with Date.now()). Baseline: the revoke request alone.

export const BROWSER_GOALS_MS = {
  viewerFirstPaintP95Ms: 300,
  reconnectP95Ms: 1_000,
  keystrokeEchoP95Ms: 30,
  revokeBrowserP95Ms: 250,
} as const;

export interface BrowserResults {
  viewerFirstPaintP50Ms: number;
  viewerFirstPaintP95Ms: number;
  staticPageP50Ms: number;
  staticPageP95Ms: number;
  viewerFirstPaintRatio: number;
  viewerFirstPaintRuns: number;
  keystrokeEchoP50Ms: number;
  keystrokeEchoP95Ms: number;
  /** keydown → the echo's bytes arrive on the page's WebSocket (the rest is xterm parsing and drawing). */
  keystrokeWireP95Ms: number;
  relayRoundTripP50Ms: number;
  relayRoundTripP95Ms: number;
  keystrokeEchoRatio: number;
  keystrokeRuns: number;
  reconnectP50Ms: number;
  reconnectP95Ms: number;
  /** The page's own wait before it reconnects (its backoff, 125-250 ms on the first try), p50. */
  reconnectBackoffP50Ms: number;
  /** From the new socket to the missed output in the DOM (connect, hello with the resume point, welcome, bytes), p50. */
  reconnectRejoinP50Ms: number;
  relayConnectP50Ms: number;
  relayConnectP95Ms: number;
  reconnectRatio: number;
  reconnectRuns: number;
  revokeBrowserP50Ms: number;
  revokeBrowserP95Ms: number;
  revokeBrowserMaxMs: number;
  revokeRequestP50Ms: number;
  revokeRequestP95Ms: number;
  revokeRequestMaxMs: number;
  revokeBrowserRatio: number;
  revokeBrowserViewers: number;
  revokeBrowserRuns: number;
}

const OWNER = 'human:bench';
const MARKER_COMMAND = 'echo bench-first-paint-$((6*7))';
const MARKER = 'bench-first-paint-42'; // the output only: the command line shows $((6*7))

/**
 * Runs in every page before its own scripts: stamps, from a MutationObserver, when the terminal's DOM
 * rows first hold `watch.text` (performance.now(), so relative to navigation start) and when the page
 * says it is disconnected (Date.now(), to compare with the bench's clock); stamps each keydown and the
 * first binary frame the page's WebSocket receives after it.
 */
const probeScript = (watch: string | null) => `(() => {
  const probe = (window.__benchProbe = { watch: ${JSON.stringify(watch ? { text: watch, at: null, wall: null } : null)}, closedAt: null, closedPerfAt: null, keyAt: null, bytesAt: null, opened: [], closes: [] });
  const rows = () => document.querySelector('#terminal .xterm-rows')?.textContent ?? '';
  const check = () => {
    if (probe.closedAt === null && document.body?.dataset.state === 'closed') {
      probe.closedAt = Date.now();
      probe.closedPerfAt = performance.now();
    }
    const w = probe.watch;
    if (w && w.at === null && rows().includes(w.text)) {
      w.at = performance.now();
      w.wall = Date.now();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state'] });
  addEventListener('keydown', (e) => { probe.keyAt = e.timeStamp; probe.bytesAt = null; }, true);
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      probe.opened.push(performance.now());
      this.addEventListener('close', () => probe.closes.push(performance.now()));
      this.addEventListener('message', (e) => {
        if (typeof e.data !== 'string' && probe.keyAt !== null && probe.bytesAt === null) probe.bytesAt = performance.now();
      });
    }
  };
})();`;

/**
 * Resolves with the page expression's value once it is truthy, checked on every animation frame. The
 * loop is evaluated over CDP, not by the page: the viewer's CSP forbids eval, which waitForFunction's
 * string predicates need.
 */
async function whenTrue<T>(page: Page, expression: string, timeout = 10_000): Promise<T> {
  return (await page.evaluate(`new Promise((resolve, reject) => {
    const give = setTimeout(() => reject(new Error(${JSON.stringify(`not true within ${timeout} ms: ${expression}`)})), ${timeout});
    const tick = () => {
      const v = (${expression});
      if (v) { clearTimeout(give); resolve(v); } else requestAnimationFrame(tick);
    };
    tick();
  })`)) as T;
}

/** A fresh context (no cache, no session storage) opens `url`; resolves with the page's stamp `what`. */
async function coldOpen(browser: Browser, url: string, what: 'watch.at' | 'closedPerfAt'): Promise<number> {
  const context = await browser.newContext();
  try {
    await context.addInitScript({ content: probeScript(MARKER) });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    return await whenTrue<number>(page, `window.__benchProbe.${what}`);
  } finally {
    await context.close();
  }
}

/** A page of the shared browser context with the probe, opened on `url` and let in. */
async function openViewerPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript({ content: probeScript(null) });
  await page.goto(url);
  await page.locator('body[data-state="open"]').waitFor();
  return page;
}

/**
 * In the page: `n` WebSockets to the relay as a read-only participant, each timed from its creation to
 * the relay's welcome; then one input each, timed to its `refused`.
 */
const relayRoundTrips = (wsUrl: string, token: string, n: number) => `(async () => {
  const open = () => new Promise((resolve, reject) => {
    const ws = new WebSocket(${JSON.stringify(wsUrl)});
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token: ${JSON.stringify(token)}, via: 'browser' }));
    ws.onmessage = (e) => { if (typeof e.data === 'string' && JSON.parse(e.data).type === 'welcome') resolve(ws); };
    ws.onerror = () => reject(new Error('relay WebSocket failed'));
  });
  const sockets = [];
  const connect = [];
  for (let i = 0; i < ${n}; i++) {
    const t0 = performance.now();
    sockets.push(await open());
    connect.push(performance.now() - t0);
  }
  const ms = [];
  // The relay answers a read-only input with one refusal a second per connection: each socket is used once.
  for (const ws of sockets) {
    const t0 = performance.now();
    await new Promise((resolve) => {
      ws.onmessage = (e) => { if (typeof e.data === 'string' && JSON.parse(e.data).type === 'refused') resolve(); };
      ws.send(JSON.stringify({ type: 'input', data: 'x' }));
    });
    ms.push(performance.now() - t0);
  }
  for (const ws of sockets) ws.close();
  return { roundTrip: ms, connect };
})()`;

export async function measureBrowser(
  natsUrl: string,
  counts = { firstPaints: 20, echoLines: 10, echoKeys: 10, relayTrips: 20, reconnects: 20, revokes: 20, viewers: 7 },
): Promise<BrowserResults> {
  const policyDir = mkdtempSync(join(tmpdir(), 'tether-bench-policy-'));
  const policy = join(policyDir, 'policy.json');
  // Write shares need a rule that allows them; the built-in policy shares read-only.
  writeFileSync(policy, JSON.stringify({ rules: [{ id: 'bench', effect: 'allow', actors: ['human:*'] }] }));
  const tether = await startTether(
    natsUrl,
    { TETHER_WORKSPACES: `bench=${await gitRepo()}`, TETHER_SHARE_POLICY: policy, TETHER_SHELL: '/bin/bash' },
    'tether-bench-browser-',
  );
  const browser = await launchChromium();
  try {
    const { terminals } = await startTerminals(tether, 2);
    const share = (terminalId: string, access: 'read' | 'write' = 'read') =>
      tether.call<ShareCreated>('POST', '/v1/shares', { terminal_id: terminalId, access }, OWNER);
    const invite = (shareId: string, name: string) =>
      tether.call<{ url: string; token: string }>('POST', `/v1/shares/${shareId}/participants`, { name }, OWNER);
    const revoke = (shareId: string) => tether.call('POST', `/v1/shares/${shareId}/revoke`, { reason: 'bench' }, OWNER);

    // A write share, its first participant granted; the marker printed once, so every later viewer gets it in its scrollback.
    const { share: s, link } = await share(terminals[0]!, 'write');
    await tether.call('POST', `/v1/shares/${s.share_id}/participants/${link!.participant_id}/grant-write`, {}, OWNER);
    const writer = await openViewerPage(browser, link!.url);
    await writer.locator('#status[data-access="write"]').waitFor();
    await writer.locator('#terminal').click();
    await writer.keyboard.type(MARKER_COMMAND);
    await writer.keyboard.press('Enter');
    await whenTrue(writer, `window.__tetherViewer.text().includes(${JSON.stringify(MARKER)})`);

    log(
      `browser: ${counts.firstPaints} cold opens of a viewer link → first output, each after the page without a token`,
    );
    const reader = await invite(s.share_id, 'first-paint');
    const noToken = reader.url.split('#')[0]!;
    await coldOpen(browser, noToken, 'closedPerfAt'); // warm-up: the server's first page
    await coldOpen(browser, reader.url, 'watch.at');
    const paint: number[] = [];
    const staticPage: number[] = [];
    for (let i = 0; i < counts.firstPaints; i++) {
      staticPage.push(await coldOpen(browser, noToken, 'closedPerfAt'));
      paint.push(await coldOpen(browser, reader.url, 'watch.at'));
    }

    log(`browser: ${counts.echoLines * counts.echoKeys} keystrokes typed into the granted viewer → echo in its DOM`);
    const echo: number[] = [];
    const wire: number[] = [];
    for (let line = 0; line < counts.echoLines; line++) {
      let typed = `#e${line}x`; // a comment to bash: Enter runs nothing
      await writer.keyboard.type(typed);
      await whenTrue(writer, `window.__tetherViewer.text().includes(${JSON.stringify(typed)})`);
      for (let k = 0; k < counts.echoKeys; k++) {
        const key = String.fromCharCode(97 + k);
        typed += key;
        await writer.evaluate(`window.__benchProbe.watch = { text: ${JSON.stringify(typed)}, at: null }`);
        await writer.keyboard.press(key);
        const r = await whenTrue<{ key: number; bytes: number | null; shown: number }>(
          writer,
          `(() => { const p = window.__benchProbe; return p.watch.at !== null && p.keyAt !== null && { key: p.keyAt, bytes: p.bytesAt, shown: p.watch.at }; })()`,
        );
        echo.push(r.shown - r.key);
        if (r.bytes !== null) wire.push(r.bytes - r.key);
      }
      await writer.keyboard.press('Enter');
    }
    log(`browser: ${counts.relayTrips} raw WebSocket round trips from the page to the relay (input → refused)`);
    const wsUrl = `${tether.url.replace(/^http/, 'ws')}/v1/shares/${s.share_id}/ws`;
    const relay = await writer.evaluate<{ roundTrip: number[]; connect: number[] }>(
      relayRoundTrips(wsUrl, reader.token, counts.relayTrips),
    );

    log(`browser: ${counts.reconnects} blips (every connection through a TCP line reset) → new output on the page`);
    const line = await TcpLine.open(Number(new URL(tether.url).port));
    const reconnect: number[] = [];
    const backoff: number[] = [];
    const rejoin: number[] = [];
    try {
      const watcher = await openViewerPage(browser, line.via(reader.url));
      for (let run = 0; run < counts.reconnects; run++) {
        // Typed ahead: the one keystroke after the cut prints the marker within an echo's time.
        await writer.keyboard.type(`echo rc-${run}-$((6*7))`);
        await watcher.evaluate(
          `(() => { const p = window.__benchProbe; p.watch = { text: 'rc-${run}-42', at: null, wall: null }; p.opened = []; p.closes = []; })()`,
        );
        const t0 = Date.now();
        line.cut();
        await writer.keyboard.press('Enter');
        const r = await whenTrue<{ wall: number; at: number; closed: number; opened: number }>(
          watcher,
          `(() => { const p = window.__benchProbe; return p.watch.wall !== null && { wall: p.watch.wall, at: p.watch.at, closed: p.closes[0], opened: p.opened.at(-1) }; })()`,
        );
        if (r.opened === undefined || r.closed === undefined)
          throw new Error(`blip ${run}: the page showed the output without reconnecting`);
        reconnect.push(r.wall - t0);
        backoff.push(r.opened - r.closed);
        rejoin.push(r.at - r.opened);
        await watcher.locator('body[data-state="open"]').waitFor();
      }
    } finally {
      line.close();
    }
    await writer.close();
    await revoke(s.share_id);

    log(`browser: ${counts.revokes} revokes, each with ${counts.viewers} viewer pages`);
    const pages: Page[] = [];
    for (let i = 0; i < counts.viewers; i++) {
      const p = await browser.newPage();
      await p.addInitScript({ content: probeScript(null) });
      pages.push(p);
    }
    const revokeMs: number[] = [];
    const requestMs: number[] = [];
    for (let run = 0; run < counts.revokes; run++) {
      const { share: r, link: first } = await share(terminals[1]!);
      const links = [first!.url];
      for (let v = 1; v < counts.viewers; v++) links.push((await invite(r.share_id, `viewer-${v}`)).url);
      await Promise.all(pages.map((p, i) => p.goto(links[i]!)));
      await Promise.all(pages.map((p) => p.locator('body[data-state="open"]').waitFor()));
      const t0 = Date.now();
      const sent = performance.now();
      const request = revoke(r.share_id).then(() => performance.now() - sent);
      const closed = await Promise.all(pages.map((p) => whenTrue<number>(p, 'window.__benchProbe.closedAt')));
      requestMs.push(await request);
      revokeMs.push(Math.max(...closed) - t0);
    }

    const p50 = (v: number[]) => percentile(v, 50);
    const p95 = (v: number[]) => percentile(v, 95);
    return {
      viewerFirstPaintP50Ms: p50(paint),
      viewerFirstPaintP95Ms: p95(paint),
      staticPageP50Ms: p50(staticPage),
      staticPageP95Ms: p95(staticPage),
      viewerFirstPaintRatio: p95(paint) / p95(staticPage),
      viewerFirstPaintRuns: counts.firstPaints,
      keystrokeEchoP50Ms: p50(echo),
      keystrokeEchoP95Ms: p95(echo),
      keystrokeWireP95Ms: p95(wire),
      relayRoundTripP50Ms: p50(relay.roundTrip),
      relayRoundTripP95Ms: p95(relay.roundTrip),
      keystrokeEchoRatio: p95(echo) / p95(relay.roundTrip),
      keystrokeRuns: echo.length,
      reconnectP50Ms: p50(reconnect),
      reconnectP95Ms: p95(reconnect),
      reconnectBackoffP50Ms: p50(backoff),
      reconnectRejoinP50Ms: p50(rejoin),
      relayConnectP50Ms: p50(relay.connect),
      relayConnectP95Ms: p95(relay.connect),
      reconnectRatio: p95(reconnect) / p95(relay.connect),
      reconnectRuns: counts.reconnects,
      revokeBrowserP50Ms: p50(revokeMs),
      revokeBrowserP95Ms: p95(revokeMs),
      revokeBrowserMaxMs: Math.max(...revokeMs),
      revokeRequestP50Ms: p50(requestMs),
      revokeRequestP95Ms: p95(requestMs),
      revokeRequestMaxMs: Math.max(...requestMs),
      revokeBrowserRatio: p95(revokeMs) / p95(requestMs),
      revokeBrowserViewers: counts.viewers,
      revokeBrowserRuns: counts.revokes,
    };
  } finally {
    await browser.close();
    await tether.stop();
    rmSync(policyDir, { recursive: true, force: true });
  }
}

const met = (v: number, goal: number) => (v < goal ? 'met' : 'NOT MET');

/** The browser lines of the bench table. */
export function browserLines(r: Record<string, unknown>): string[] {
  if (typeof r.viewerFirstPaintP95Ms !== 'number') return [];
  const b = r as unknown as BrowserResults;
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const g = BROWSER_GOALS_MS;
  return [
    '',
    'share viewer in Chromium:',
    `  open link → first output (${b.viewerFirstPaintRuns} cold opens): p50 ${ms(b.viewerFirstPaintP50Ms)}, p95 ${ms(b.viewerFirstPaintP95Ms)} (goal < ${g.viewerFirstPaintP95Ms} ms, ${met(b.viewerFirstPaintP95Ms, g.viewerFirstPaintP95Ms)}); the page without a token p95 ${ms(b.staticPageP95Ms)}, ratio ${b.viewerFirstPaintRatio.toFixed(2)}`,
    `  granted viewer's key → its echo on screen (${b.keystrokeRuns} keys): p50 ${ms(b.keystrokeEchoP50Ms)}, p95 ${ms(b.keystrokeEchoP95Ms)} (goal < ${g.keystrokeEchoP95Ms} ms, ${met(b.keystrokeEchoP95Ms, g.keystrokeEchoP95Ms)}); bytes back on the socket p95 ${ms(b.keystrokeWireP95Ms)}; raw WebSocket round trip to the relay p95 ${ms(b.relayRoundTripP95Ms)}, ratio ${b.keystrokeEchoRatio.toFixed(2)}`,
    `  connection cut → new output on the page (${b.reconnectRuns} blips): p50 ${ms(b.reconnectP50Ms)}, p95 ${ms(b.reconnectP95Ms)} (goal < ${g.reconnectP95Ms} ms, ${met(b.reconnectP95Ms, g.reconnectP95Ms)}); of it the page's backoff p50 ${ms(b.reconnectBackoffP50Ms)}, new socket → output p50 ${ms(b.reconnectRejoinP50Ms)}; a fresh connection to the relay (open → welcome) p95 ${ms(b.relayConnectP95Ms)}, ratio ${b.reconnectRatio.toFixed(2)}`,
    `  revoke → all ${b.revokeBrowserViewers} viewer pages disconnected (${b.revokeBrowserRuns} runs): p50 ${ms(b.revokeBrowserP50Ms)}, p95 ${ms(b.revokeBrowserP95Ms)}, max ${ms(b.revokeBrowserMaxMs)} (goal < ${g.revokeBrowserP95Ms} ms, ${met(b.revokeBrowserP95Ms, g.revokeBrowserP95Ms)}); the revoke request alone p50 ${ms(b.revokeRequestP50Ms)}, p95 ${ms(b.revokeRequestP95Ms)}, max ${ms(b.revokeRequestMaxMs)}, ratio ${b.revokeBrowserRatio.toFixed(2)}`,
  ];
}

/** `npm run bench:browser`: this section alone, with its own nats-server; its figures go into bench/results.json. */
export async function benchBrowserAlone(): Promise<void> {
  const nats = await NatsServer.start();
  try {
    const r = await measureBrowser(nats.url);
    mergeResults({ ...r });
    process.stdout.write(`${browserLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await nats.dispose();
  }
}
