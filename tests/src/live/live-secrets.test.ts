import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LiveLinkReply } from '@tether/contracts';
import { TetherProcess, api, asActor, gitRepo, killTmuxServers, useNats } from '../harness/index.ts';
import { startRun } from './task-helpers.ts';

// Every link a live session hands out (a person's read-only one, a takeover's and a grant's read-write
// ones) is shown once, to its holder: a `tether up` logging at debug level writes none of them to its
// log, and the event stream and the audit trail hold none either.

describe('live-session links stay out of logs, the stream and the audit trail', () => {
  const ctx = useNats();
  let tether: TetherProcess | undefined;
  const home = mkdtempSync(join(tmpdir(), 'tether-live-secrets-'));
  afterAll(async () => {
    await tether?.kill();
    await killTmuxServers(home);
  });

  it('a read-only link, a takeover and a grant to another person: no token in the log, events or audit', async () => {
    tether = await TetherProcess.start({
      NATS_URL: ctx.nats.url,
      TETHER_HOME: home,
      TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
      TETHER_LOG_LEVEL: 'debug',
    });
    const t = { url: tether.url, token: tether.token };
    const { reply } = await startRun(t, { live: true, steps: 600 });
    const run = reply.task_run.task_run_id;
    const tokens = [reply.link?.token];
    const takeover = await api(t, 'POST', `/v1/task-runs/${run}/control`, { action: 'takeover' });
    expect(takeover.status, JSON.stringify(takeover.body)).toBe(200);
    tokens.push(LiveLinkReply.parse(takeover.body).link?.token);
    await asActor(t, 'human:bob', 'member'); // bob exists, so the grant names a known person
    const grant = await api(t, 'POST', `/v1/task-runs/${run}/live-session/grant-write`, { to: 'human:bob' });
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    tokens.push(LiveLinkReply.parse(grant.body).link?.token);
    expect(tokens.every((tk) => typeof tk === 'string' && tk.length >= 16)).toBe(true);

    const events = await api<unknown>(t, 'GET', `/v1/entities/liveSession/ls-${run}/events`);
    const shareEvents = await api<unknown>(t, 'GET', `/v1/entities/share/sh-ls-${run}/events`);
    const audit = await api<unknown>(t, 'GET', '/v1/audit?limit=500');
    const seen = JSON.stringify([events.body, shareEvents.body, audit.body]);
    expect(seen).toContain(`ls-${run}`); // what was searched holds the session's records
    expect(tether.logs).toContain(run); // and the log its lines, at debug level
    for (const token of tokens as string[]) {
      expect(seen.includes(token), 'a token in the stream or the audit trail').toBe(false);
      expect(tether.logs.includes(token), 'a token in the log').toBe(false);
    }
    await api(t, 'POST', `/v1/task-runs/${run}/control`, { action: 'cancel' });
  }, 90_000);
});
