import { describe, expect, it } from 'vitest';
import { ShareCreated } from '@tether/contracts';
import { api, asActor, eventually, useControlPlane } from '../harness/index.ts';
import { as, policyFile, runningTerminal } from '../sharing/helpers.ts';

// What reads show and for how long: no secret's hash through the entity routes, credentials only to
// operators there, a viewer token reads no bearer secrets even its holder's, a live stream ends with
// its credential, and a malformed cookie is a 401.

const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
type Rejected = { error: { code: string; reason?: string } };

describe('reads', () => {
  it('entity routes show no token hash, sealed link or credential hash; credentials there are for operators', async () => {
    const { term } = await runningTerminal(cp);
    const created = ShareCreated.parse(
      (await as(cp, 'human:alice', 'POST', '/v1/shares', { terminal_id: term.terminal_id })).body,
    );
    const id = created.share.share_id;
    const shown = JSON.stringify([
      (await api(cp, 'GET', `/v1/entities/share/${id}`)).body,
      (await api(cp, 'GET', `/v1/entities/share/${id}/events`)).body,
      await eventually(
        async () => (await api<{ items: { entityId: string }[] }>(cp, 'GET', '/v1/entities/share')).body,
        (l) => l.items.some((a) => a.entityId === id),
      ),
    ]);
    expect(shown).toContain(id);
    expect(shown).not.toMatch(/"tokenHash":"[0-9a-f]{64}"/);
    expect(shown).not.toContain('sealedLinks');

    const bob = await asActor(cp, 'human:bob-reader', 'member');
    const credentialId = (await api<{ credential_id: string }>(bob, 'GET', '/v1/me')).body.credential_id;
    for (const path of [
      '/v1/entities/credential',
      `/v1/entities/credential/${credentialId}`,
      `/v1/entities/credential/${credentialId}/events`,
    ]) {
      const r = await api<Rejected>(bob, 'GET', path);
      expect([path, r.status, r.body.error.reason]).toEqual([path, 403, 'operators-read-credentials']);
    }
    const asOperator = JSON.stringify([
      (await api(cp, 'GET', `/v1/entities/credential/${credentialId}`)).body,
      (await api(cp, 'GET', `/v1/entities/credential/${credentialId}/events`)).body,
    ]);
    expect(asOperator).toContain('human');
    expect(asOperator).not.toMatch(/"hash":"[0-9a-f]{64}"/);
  });

  it("a viewer token reads no bearer secret, not even its holder's: share links, a handoff's environment", async () => {
    const alicesViewer = await asActor(cp, 'human:alice', 'viewer');
    const links = await api<Rejected>(alicesViewer, 'GET', '/v1/shares/any-share/links');
    expect([links.status, links.body.error.reason]).toEqual([403, 'viewers-watch-only']);
    const env = await api<Rejected>(alicesViewer, 'GET', '/v1/handoffs/any-handoff/environment');
    expect([env.status, env.body.error.reason]).toEqual([403, 'viewers-watch-only']);
  });

  it('a malformed session cookie is a 401, not a 500', async () => {
    const r = await api<Rejected>(cp, 'GET', '/v1/me', undefined, { authorization: '', cookie: 'tether_session=%E0' });
    expect([r.status, r.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  });
});

describe('live stream', () => {
  it('ends with an unauthenticated event once its credential is revoked', async () => {
    const made = await api<{ token: string; credential_id: string }>(cp, 'POST', '/v1/credentials', {
      actor: 'human:streamer',
      role: 'viewer',
    });
    const res = await fetch(`${cp.url}/v1/stream`, { headers: { authorization: `Bearer ${made.body.token}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const read = async (until: (t: string) => boolean) => {
      while (!until(text)) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += value;
      }
      return text;
    };
    await read((t) => t.includes('event: ready'));
    expect((await api(cp, 'POST', `/v1/credentials/${made.body.credential_id}/revoke`, {})).status).toBe(200);
    expect(await read((t) => t.includes('event: unauthenticated'))).toContain('event: unauthenticated');
    expect((await reader.read()).done).toBe(true); // and the stream is over
  });
});
