import { connect } from '@nats-io/transport-node';
import { gitRepo, openViewer, type Viewer } from '@tether/tests';
import { attachMemoryProbe, inspectorUrlIn, type MemoryProbe } from './inspector.ts';
import { startTether, timed, type BenchTether } from './tether-server.ts';
import { log, percentile } from './timing.ts';

export interface SharingResults {
  shareLinkP50Ms: number;
  shareLinkP95Ms: number;
  revokeDisconnectP50Ms: number;
  revokeDisconnectP95Ms: number;
  revokeViewers: number;
  shareMemoryKb: number;
  shareMemoryRssKb: number;
  sharesForMemory: number;
  shareLinkRuns: number;
  revokeRuns: number;
}

const OWNER = 'human:bench';

/**
 * Native shares through one `tether up` child: request → link over HTTP, revoke → every one of
 * 10 viewers disconnected, and the memory each live share (with one connected viewer) adds to
 * the process after a full GC, read through the inspector.
 */
export async function measureSharing(
  natsUrl: string,
  counts = { links: 100, revokes: 20, viewers: 10, memoryShares: 40, terminals: 4 },
): Promise<SharingResults> {
  const tether = await startTether(
    natsUrl,
    // The inspector on a free port is only for the memory probe; the per-terminal limit is raised so
    // the memory phase can hold many shares on a few terminals.
    {
      NODE_OPTIONS: '--inspect=127.0.0.1:0',
      TETHER_SHARE_MAX_PER_TERMINAL: String(counts.memoryShares),
      TETHER_WORKSPACES: `bench=${await gitRepo()}`,
    },
    'tether-bench-share-',
  );
  const probeUrl = inspectorUrlIn(tether.logs());
  let probe: MemoryProbe | undefined;
  const viewers: Viewer[] = [];
  try {
    if (!probeUrl) throw new Error(`no inspector URL in the output of tether up: ${tether.logs().slice(-500)}`);
    probe = await attachMemoryProbe(probeUrl);
    const { session, terminals } = await startTerminals(tether, counts.terminals);
    const share = async (terminalId: string) =>
      tether.call<{ share: { share_id: string; status: string }; link: { url: string } }>(
        'POST',
        '/v1/shares',
        { terminal_id: terminalId },
        OWNER,
      );
    const revoke = (shareId: string) => tether.call('POST', `/v1/shares/${shareId}/revoke`, { reason: 'bench' }, OWNER);

    // Memory first, on a warmed-up process: later phases leave ended shares and garbage behind.
    for (let i = 0; i < 5; i++) {
      const { share: s, link } = await share(terminals[i % terminals.length]!);
      const v = await openViewer(link.url);
      await until(() => v.messages.some((m) => m.type === 'welcome'), 'warm-up viewer welcomed');
      await revoke(s.share_id);
      await v.closed;
    }
    log(`sharing: memory of ${counts.memoryShares} live native shares, one viewer each`);
    const memoryShares: string[] = [];
    const before = await probe.memory();
    for (let i = 0; i < counts.memoryShares; i++) {
      const { share: s, link } = await share(terminals[i % terminals.length]!);
      memoryShares.push(s.share_id);
      const v = await openViewer(link.url);
      viewers.push(v);
      await until(() => v.messages.some((m) => m.type === 'welcome'), 'memory-phase viewer welcomed');
    }
    // Output through every share, so each relay's scrollback holds something.
    const nc = await connect({ servers: natsUrl, name: 'bench-share-input' });
    for (const id of terminals)
      nc.publish(`tether.term.${id}.in`, JSON.stringify({ data: 'seq 1 2000\r', from: session }));
    await nc.flush();
    await nc.close();
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await probe.memory();
    for (const id of memoryShares) await revoke(id);
    for (const v of viewers) v.close();

    log(`sharing: ${counts.links} native shares, request → link`);
    const linkMs: number[] = [];
    for (let i = 0; i < counts.links; i++) {
      let created!: Awaited<ReturnType<typeof share>>;
      linkMs.push(await timed(async () => (created = await share(terminals[i % terminals.length]!))));
      if (created.share.status !== 'active' || !created.link?.url)
        throw new Error(`share ${created.share.share_id} is ${created.share.status} without a link`);
      await revoke(created.share.share_id);
    }

    log(`sharing: ${counts.revokes} revokes with ${counts.viewers} viewers each`);
    const revokeMs: number[] = [];
    for (let i = 0; i < counts.revokes; i++) {
      const { share: s, link } = await share(terminals[i % terminals.length]!);
      const links = [link.url];
      for (let v = 1; v < counts.viewers; v++)
        links.push(
          (
            await tether.call<{ url: string }>(
              'POST',
              `/v1/shares/${s.share_id}/participants`,
              { name: `viewer-${v}` },
              OWNER,
            )
          ).url,
        );
      const open = await Promise.all(links.map((url) => openViewer(url)));
      await Promise.all(
        open.map((v) => until(() => v.messages.some((m) => m.type === 'welcome'), `viewer of ${s.share_id} welcomed`)),
      );
      revokeMs.push(
        await timed(async () => {
          await revoke(s.share_id);
          await Promise.all(open.map((v) => v.closed));
        }),
      );
    }

    const perShareKb = (b: number, a: number) => (a - b) / 1024 / counts.memoryShares;
    return {
      shareLinkP50Ms: percentile(linkMs, 50),
      shareLinkP95Ms: percentile(linkMs, 95),
      revokeDisconnectP50Ms: percentile(revokeMs, 50),
      revokeDisconnectP95Ms: percentile(revokeMs, 95),
      revokeViewers: counts.viewers,
      shareMemoryKb: perShareKb(before.heapUsed + before.external, after.heapUsed + after.external),
      shareMemoryRssKb: perShareKb(before.rss, after.rss),
      sharesForMemory: counts.memoryShares,
      shareLinkRuns: counts.links,
      revokeRuns: counts.revokes,
    };
  } finally {
    for (const v of viewers) v.close();
    probe?.close();
    await tether.stop();
  }
}

type Terminal = { terminal_id: string; state: string; close_reason?: string };

/** A lane, its session and `n` running terminals. */
export async function startTerminals(
  tether: BenchTether,
  n: number,
): Promise<{ session: string; terminals: string[] }> {
  const lane = await tether.call<{ lane_id: string }>('POST', '/v1/workspaces/bench/lanes', {
    project_context_id: 'bench',
    display_name: 'sharing',
  });
  const session = await tether.call<{ session_id: string }>(
    'POST',
    `/v1/workspaces/bench/lanes/${lane.lane_id}/sessions`,
    {
      provider: 'codex',
    },
  );
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = await tether.call<Terminal>('POST', `/v1/workspaces/bench/lanes/${lane.lane_id}/terminals`, {
      session_id: session.session_id,
      title: `share-${i}`,
    });
    if (t.state !== 'active') throw new Error(`terminal ${t.terminal_id} is ${t.state}: ${t.close_reason}`);
    ids.push(t.terminal_id);
  }
  return { session: session.session_id, terminals: ids };
}

async function until(pred: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
