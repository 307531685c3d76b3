import { describe, expect, it } from 'vitest';
import { ShareView } from '@tether/contracts';
import { processesMarked, sendCommand } from '@tether/runtime';
import { ProcessShares } from '@tether/sharing';
import { termSubjects } from '@tether/workers';
import { eventually, useControlPlane } from '../harness/index.ts';
import { as, createShare, fakeTmateEnv, runningTerminal } from './helpers.ts';

// Share worker chaos (seed 000, T015), each scenario 5 times, with the NAMED FAKE tmate as the worker
// (no tmate relay can run here; the fake is a real process group that can be killed and stopped).
// After every round a /proc scan finds no process marked with this tether's TETHER_OWNER.
const cp = useControlPlane({ ...fakeTmateEnv() });
const OWNER = `test-${process.pid}`;
const ROUNDS = 5;
/** Each test runs ROUNDS rounds of real processes and heartbeats (a hang takes about 6 s to notice): a budget per round. */
const budget = { timeout: ROUNDS * 30_000 };

const share = async (id: string) => ShareView.parse((await as(cp, 'human:alice', 'GET', `/v1/shares/${id}`)).body);
/** Signals each worker's process group (the worker leads it and was just seen alive, so its pid is not reused). */
const signal = (leaders: number[], sig: NodeJS.Signals) => {
  for (const p of leaders) process.kill(-p, sig);
};

async function sharedTerminal() {
  const t = await runningTerminal(cp);
  const r = await createShare(cp, 'human:alice', { terminal_id: t.term.terminal_id, backend: 'tmate' });
  expect(r.body.share).toMatchObject({ status: 'active' });
  const actor = (
    await as<{ context: { workerPid: number } }>(
      cp,
      'human:alice',
      'GET',
      `/v1/entities/share/${r.body.share.share_id}`,
    )
  ).body;
  expect(ProcessShares.leftovers(r.body.share.share_id)).toContain(actor.context.workerPid);
  return { ...t, shareId: r.body.share.share_id, workers: [actor.context.workerPid] };
}

/** The terminal still runs commands and prints their output. */
async function echoes(terminalId: string, sessionId: string) {
  let out = '';
  const sub = cp.ctx.store.nc.subscribe(termSubjects.out(terminalId), {
    callback: (_e, m) => {
      out += new TextDecoder().decode(m.data);
    },
  });
  const nonce = Math.floor(Math.random() * 1e6);
  cp.ctx.store.nc.publish(
    termSubjects.in(terminalId),
    JSON.stringify({ data: `echo alive-$((${nonce}+1))\r`, from: sessionId }),
  );
  await eventually(
    () => out,
    (o) => o.includes(`alive-${nonce + 1}`),
  );
  sub.unsubscribe();
}

/** Closes the round's terminals; then nothing this tether started may be left. */
async function noOrphans(terminalIds: string[]) {
  for (const id of terminalIds)
    await sendCommand(
      cp.ctx.store.nc,
      'terminal',
      'close',
      { entityId: id, data: { reason: 'chaos round over' } },
      { credential: cp.token },
    );
  await eventually(
    () => processesMarked('TETHER_OWNER', OWNER),
    (p) => p.length === 0,
    15_000,
  );
}

describe('share worker chaos', budget, () => {
  it(`a SIGKILLed worker fails its share; the terminal keeps working (×${ROUNDS})`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { term, session, shareId, workers } = await sharedTerminal();
      signal(workers, 'SIGKILL');
      const s = await eventually(
        () => share(shareId),
        (v) => v.status === 'ended',
      );
      expect(s.ended).toMatchObject({ reason: 'failed', detail: expect.stringContaining('SIGKILL') });
      await echoes(term.terminal_id, session.session_id);
      await noOrphans([term.terminal_id]);
    }
  });

  it(`a hung worker (SIGSTOP, no heartbeat) is killed and its share failed within 10 s (×${ROUNDS})`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { term, session, shareId, workers } = await sharedTerminal();
      const t0 = Date.now();
      signal(workers, 'SIGSTOP');
      const s = await eventually(
        () => share(shareId),
        (v) => v.status === 'ended',
        10_000,
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(s.ended).toMatchObject({ reason: 'failed', detail: expect.stringContaining('stopped answering') });
      expect(ProcessShares.leftovers(shareId)).toEqual([]);
      await echoes(term.terminal_id, session.session_id);
      await noOrphans([term.terminal_id]);
    }
  });

  it(`3 shares on 3 terminals, 2 workers killed at once: the third keeps working (×${ROUNDS})`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const shared = [await sharedTerminal(), await sharedTerminal(), await sharedTerminal()];
      signal([...shared[0]!.workers, ...shared[1]!.workers], 'SIGKILL');
      for (const s of shared.slice(0, 2))
        await eventually(
          () => share(s.shareId),
          (v) => v.status === 'ended' && v.ended?.reason === 'failed',
        );
      // The survivor answers several heartbeats and its links still work.
      await new Promise((r) => setTimeout(r, 1_500));
      const survivor = shared[2]!;
      expect((await share(survivor.shareId)).status).toBe('active');
      expect(ProcessShares.leftovers(survivor.shareId).length).toBeGreaterThan(0);
      expect((await as(cp, 'human:alice', 'GET', `/v1/shares/${survivor.shareId}/links`)).status).toBe(200);
      for (const s of shared) await echoes(s.term.terminal_id, s.session.session_id);
      await noOrphans(shared.map((s) => s.term.terminal_id));
      expect((await share(survivor.shareId)).ended?.reason).toBe('terminated');
    }
  });
});
