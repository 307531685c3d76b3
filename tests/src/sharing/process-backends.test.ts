import { describe, expect, it } from 'vitest';
import { ShareView } from '@tether/contracts';
import { ProcessShares } from '@tether/sharing';
import { eventually, useControlPlane } from '../harness/index.ts';
import { as, createShare, fakeTmateEnv, runningTerminal } from './helpers.ts';

// The tmate backend through tether with a NAMED FAKE tmate (tests/fakes/fake-tmate.mjs): no tmate relay
// can run on this machine. The real binary's failure path is in tmate-real.test.ts.
const cp = useControlPlane({ ...fakeTmateEnv(), TETHER_SHARE_HEARTBEAT_MS: '300' });
const share = async (id: string) => ShareView.parse((await as(cp, 'human:alice', 'GET', `/v1/shares/${id}`)).body);

describe('tmate backend (fake tmate)', () => {
  it('starts a worker in its own process group, links only for the owner, revoke stops it', async () => {
    const { term } = await runningTerminal(cp);
    const r = await createShare(cp, 'human:alice', {
      terminal_id: term.terminal_id,
      backend: 'tmate',
      access: 'read',
    });
    expect(r.status).toBe(201);
    const s = r.body.share;
    expect(s).toMatchObject({ status: 'active', backend: 'tmate' });
    expect(r.body.link).toBeNull();
    const workers = ProcessShares.leftovers(s.share_id);
    expect(workers.length).toBeGreaterThan(0);

    const links = await as<{ links: Record<string, string> }>(
      cp,
      'human:alice',
      'GET',
      `/v1/shares/${s.share_id}/links`,
    );
    expect(Object.keys(links.body.links).sort()).toEqual(['ssh_ro', 'web_ro']); // read-only share: no rw links
    expect(links.body.links.ssh_ro).toContain('fake-tmate');
    const stranger = await as<{ error: { reason: string } }>(cp, 'human:bob', 'GET', `/v1/shares/${s.share_id}/links`);
    expect(stranger.body.error.reason).toBe('share-links-owner-only');
    // The links are sealed in the stream, not readable there.
    const events = JSON.stringify((await as(cp, 'human:alice', 'GET', `/v1/entities/share/${s.share_id}/events`)).body);
    expect(events).not.toContain(links.body.links.ssh_ro);

    await as(cp, 'human:alice', 'POST', `/v1/shares/${s.share_id}/revoke`, { reason: 'done' });
    await eventually(
      () => ProcessShares.leftovers(s.share_id),
      (p) => p.length === 0,
    );
  });

  it('switching backend ends the old share (switched) and starts a new one', async () => {
    const { term } = await runningTerminal(cp);
    const first = (await createShare(cp, 'human:alice', { terminal_id: term.terminal_id })).body.share;
    const sw = await as<{ share: ShareView }>(cp, 'human:alice', 'POST', `/v1/shares/${first.share_id}/switch`, {
      backend: 'tmate',
    });
    expect(sw.status).toBe(201);
    expect(sw.body.share).toMatchObject({ backend: 'tmate', status: 'active', replaces: first.share_id });
    expect(await share(first.share_id)).toMatchObject({
      status: 'ended',
      ended: { reason: 'switched' },
      switched_to: sw.body.share.share_id,
    });
    const denied = await as<{ error: { reason: string } }>(
      cp,
      'human:eve',
      'POST',
      `/v1/shares/${sw.body.share.share_id}/switch`,
      { backend: 'native' },
    );
    expect(denied.status).toBe(403); // eve is not its owner: share-owner-or-operator
    await as(cp, 'human:alice', 'POST', `/v1/shares/${sw.body.share.share_id}/revoke`, {});
    await eventually(
      () => ProcessShares.leftovers(sw.body.share.share_id),
      (p) => p.length === 0,
    );
  });
});
