import { execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { ShareView } from '@tether/contracts';
import { ProcessShares } from '@tether/sharing';
import { termSubjects } from '@tether/workers';
import { eventually, useControlPlane } from '../harness/index.ts';
import { freePort } from '@tether/runtime';
import { as, createShare, policyFile, runningTerminal } from './helpers.ts';

// The REAL tmate binary with no relay reachable: the share fails with a clear reason within the bounded
// wait, nothing it started is left, and the terminal is untouched. upterm is not installed here: its
// missing-binary error is the real one.
const hasTmate = execaSync('sh', ['-c', 'command -v tmate'], { reject: false }).exitCode === 0;
if (!hasTmate)
  console.warn('SKIPPING the real tmate failure path: the tmate binary is missing (apt-get install tmate)');
const port = await freePort();
const cp = useControlPlane({
  TETHER_SHARE_POLICY: policyFile(),
  TETHER_TMATE_HOST: '127.0.0.1',
  TETHER_TMATE_PORT: String(port),
  TETHER_TMATE_ED25519_FINGERPRINT: 'SHA256:nobody-listens',
  TETHER_SHARE_READY_MS: '2000',
  TETHER_UPTERM_BIN: 'upterm-not-installed-here',
});

describe('real tmate and upterm failure paths', () => {
  it.skipIf(!hasTmate)(
    'tmate with no reachable relay: share failed with the reason, terminal still works, no process left',
    async () => {
      const { term, session } = await runningTerminal(cp);
      const r = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, backend: 'tmate' });
      const id = r.body.share.share_id;
      const s = await eventually(
        async () => ShareView.parse((await as(cp, 'human:alice', 'GET', `/v1/shares/${id}`)).body),
        (v) => v.status === 'ended',
        20_000,
      );
      expect(s.ended).toMatchObject({
        reason: 'failed',
        detail: expect.stringMatching(new RegExp(`127\\.0\\.0\\.1:${port}`)),
      });
      expect(ProcessShares.leftovers(id)).toEqual([]);
      let out = '';
      const sub = cp.ctx.store.nc.subscribe(termSubjects.out(term.terminal_id), {
        callback: (_e, m) => {
          out += new TextDecoder().decode(m.data);
        },
      });
      cp.ctx.store.nc.publish(
        termSubjects.in(term.terminal_id),
        JSON.stringify({ data: 'echo still-here-$((40+2))\r', from: session.session_id }),
      );
      await eventually(
        () => out,
        (o) => o.includes('still-here-42'),
      );
      sub.unsubscribe();
    },
  );

  it('upterm missing: refused before anything is written, with the install hint', async () => {
    const { term } = await runningTerminal(cp);
    const r = await createShare(cp, 'human:alice', { terminal_id: term.terminal_id, backend: 'upterm' });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      reason: 'BACKEND_UNAVAILABLE',
      message: expect.stringContaining('github.com/owenthereal/upterm'),
    });
    const list = (
      await as<{ items: ShareView[] }>(cp, 'human:alice', 'GET', `/v1/shares?terminal_id=${term.terminal_id}`)
    ).body.items;
    expect(list).toEqual([]);
  });
});
