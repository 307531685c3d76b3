import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { ShareView, type ShareCreated } from '@tether/contracts';
import { processesMarked } from '@tether/runtime';
import { termSubjects } from '@tether/workers';
import { TetherProcess, eventually, gitRepo, openViewer, useNats } from '../harness/index.ts';
import { as, policyFile, runningTerminal } from './helpers.ts';

// Shares across a kill -9 of tether: expiry is durable (a share that expired while tether was down
// ends at start) and a native share keeps its links (viewers reconnect to the next tether).
const ctx = useNats();
const home = mkdtempSync(join(tmpdir(), 'tether-share-crash-'));
const procs: TetherProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await execa('tmux', ['-S', join(home, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
});

describe('shares survive a crash of tether', () => {
  it('expiry fires at the next start; a live share keeps working for the same link', async () => {
    const env = {
      NATS_URL: ctx.nats.url,
      TETHER_HOME: home,
      TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
      TETHER_SHARE_POLICY: policyFile(),
      TETHER_SHARE_MIN_TTL_MS: '1000',
      TETHER_SHARE_WARN_MS: '500',
    };
    const first = await TetherProcess.start(env);
    procs.push(first);
    const { term, session } = await runningTerminal(first);
    const create = async (ttl: number) =>
      (
        await as<ShareCreated>(first, 'human:alice', 'POST', '/v1/shares', {
          terminal_id: term.terminal_id,
          ttl_ms: ttl,
        })
      ).body;
    const short = await create(2_000);
    const long = await create(600_000);
    const viewer = await openViewer(long.link!.url);
    await eventually(
      () => viewer.messages,
      (m) => m.some((x) => x.type === 'welcome'),
    );

    await first.kill('SIGKILL');
    await viewer.closed; // the relay died with its process
    await new Promise((r) => setTimeout(r, Date.parse(short.share.expires_at!) - Date.now() + 300));

    const second = await TetherProcess.start(env);
    procs.push(second);
    const get = async (id: string) =>
      ShareView.parse((await as(second, 'human:alice', 'GET', `/v1/shares/${id}`)).body);
    const expired = await eventually(
      () => get(short.share.share_id),
      (s) => s.status === 'ended',
    );
    expect(expired.ended).toMatchObject({ reason: 'expired' });
    // The dropped connection is on record as left; the same link works against the new tether.
    // (once the share workers run again: they wait for the recovery run the crash started)
    await eventually(
      () => get(long.share.share_id),
      (s) => s.participants[0]?.connected === false,
    );
    const back = await openViewer(long.link!.url.replace(new URL(first.url).host, new URL(second.url).host));
    await eventually(
      () => back.messages,
      (m) => m.some((x) => x.type === 'welcome'),
    );
    ctx.store.nc.publish(
      termSubjects.in(term.terminal_id),
      JSON.stringify({ data: 'echo after-crash-$((2*21))\r', from: session.session_id }),
    );
    await eventually(
      () => back.output(),
      (o) => o.includes('after-crash-42'),
    );
    await as(second, 'human:alice', 'POST', `/v1/shares/${long.share.share_id}/revoke`, {});
    expect((await back.closed).code).toBe(4410);
    expect(processesMarked('TETHER_SHARE_ID', long.share.share_id)).toEqual([]);
  });
});
