import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ShareCreated } from '@tether/contracts';
import { eventually, openViewer, useControlPlane } from '../harness/index.ts';
import { command, type LiveTether } from '../live/helpers.ts';
import { startRun } from '../live/task-helpers.ts';
import { as, createShare, fakeTmateEnv, runningTerminal } from './helpers.ts';

// The shared terminal's own tmux status line, read from tether's tmux server as a client would draw it.
// tmate and upterm run as NAMED FAKES (tests/fakes/fake-tmate.mjs, fake-upterm.mjs): no relay can run here.
const cp = useControlPlane({
  ...fakeTmateEnv(),
  TETHER_UPTERM_BIN: fileURLToPath(new URL('../../fakes/fake-upterm.mjs', import.meta.url)),
  TETHER_UPTERM_SERVER: 'ssh://uptermd.invalid:22',
});

const tmux = async (...args: string[]) =>
  (await execa('tmux', ['-S', join(cp.home, 'terminals', 'tmux.sock'), ...args])).stdout;
/** status-right as tmux draws it now (formats and the clock evaluated). */
const statusRight = (terminalId: string) => tmux('display-message', '-p', '-t', `=${terminalId}:`, '#{T:status-right}');
/** status-right's value, unevaluated (the default one holds a clock). */
const rawRight = (terminalId: string) => tmux('display-message', '-p', '-t', `=${terminalId}:`, '#{status-right}');
/** The options set on the terminal's session itself. */
const ownOptions = (terminalId: string) => tmux('show-options', '-t', `=${terminalId}:`);
const showing = (terminalId: string, text: string) =>
  eventually(
    () => statusRight(terminalId),
    (s) => s.startsWith(text),
  );
const LEFT = / \| (\d+):(\d\d) left$/;
const secondsLeft = (status: string) => {
  const [, m, s] = LEFT.exec(status) ?? [];
  return Number(m) * 60 + Number(s);
};
const revoke = (shareId: string) => as(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/revoke`, { reason: 'done' });

describe("a shared terminal's tmux status line", () => {
  it('native: shared, 0 then 1 watching, who may type, a countdown, extended, kicked; revoking puts everything back', async () => {
    const { term } = await runningTerminal(cp);
    const id = term.terminal_id;
    const before = { options: await ownOptions(id), right: await rawRight(id) };
    expect(before.right).not.toContain('[tether]');

    const created = await createShare(cp, 'human:alice', { terminal_id: id, access: 'write', participant: 'bob' });
    expect(created.status).toBe(201);
    const { share, link } = ShareCreated.parse(created.body);
    const first = await showing(id, '[tether] shared | 0 watching | read-only | ');
    expect(first).toMatch(LEFT);
    expect(secondsLeft(first)).toBeGreaterThan(25 * 60); // the default TTL, 30 min
    expect(await tmux('show-options', '-v', '-t', `=${id}:`, 'status')).toBe('on');
    // tmux counts down by itself (status-interval 1): the same text shows less time a moment later.
    await eventually(
      () => statusRight(id),
      (s) => secondsLeft(s) < secondsLeft(first),
    );

    const bob = await openViewer(link!.url);
    await showing(id, '[tether] shared | 1 watching | read-only | ');

    const participant = `/v1/shares/${share.share_id}/participants/${link!.participant_id}`;
    expect((await as(cp, 'human:alice', 'POST', `${participant}/grant-write`, { ttl_ms: 60_000 })).status).toBe(200);
    await showing(id, '[tether] shared | 1 watching | bob may type | ');
    expect((await as(cp, 'human:alice', 'POST', `${participant}/revoke-write`, {})).status).toBe(200);
    await showing(id, '[tether] shared | 1 watching | read-only | ');

    // Extended by 15 min: the countdown starts from the new end.
    const left = secondsLeft(await statusRight(id));
    expect(
      (await as(cp, 'human:alice', 'POST', `/v1/shares/${share.share_id}/extend`, { ttl_ms: 900_000 })).status,
    ).toBe(200);
    await eventually(
      () => statusRight(id),
      (s) => secondsLeft(s) > left + 800,
    );
    expect((await as(cp, 'human:alice', 'POST', `${participant}/kick`, {})).status).toBe(200);
    await showing(id, '[tether] shared | 0 watching | read-only | ');
    await bob.closed;
    await revoke(share.share_id);
    await eventually(
      () => ownOptions(id),
      (o) => o === before.options,
    );
    expect(await rawRight(id)).toBe(before.right);
  });

  it('two shares on one terminal are summarised; the status stays until the last one ends', async () => {
    const { term } = await runningTerminal(cp);
    const id = term.terminal_id;
    const before = await ownOptions(id);
    const a = ShareCreated.parse((await createShare(cp, 'human:alice', { terminal_id: id })).body).share;
    const b = ShareCreated.parse(
      (await createShare(cp, 'human:alice', { terminal_id: id, backend: 'tmate' })).body,
    ).share;
    await showing(id, '[tether] shared x2 (native, tmate) | 0+ watching | read-only | ');
    await revoke(b.share_id);
    await showing(id, '[tether] shared | 0 watching | read-only | ');
    await revoke(a.share_id);
    await eventually(
      () => ownOptions(id),
      (o) => o === before,
    );
  });

  // tmate and upterm do not tell tether who is connected; a write share lets whoever holds its read-write link type.
  it.each([
    ['tmate', 'read', '[tether] shared (tmate) | viewers ? | read-only | '],
    ['upterm', 'write', '[tether] shared (upterm) | viewers ? | rw link may type | '],
  ])(
    '%s (fake), a %s share: the backend and "viewers ?", not a number tether cannot know',
    async (backend, access, text) => {
      const { term } = await runningTerminal(cp);
      const id = term.terminal_id;
      const before = await ownOptions(id);
      const r = await createShare(cp, 'human:alice', { terminal_id: id, backend, access });
      expect(r.status).toBe(201);
      expect(await showing(id, text)).toMatch(LEFT);
      await revoke(r.body.share.share_id);
      await eventually(
        () => ownOptions(id),
        (o) => o === before,
      );
    },
  );

  // A task run's terminal is a tether terminal like any (its shell a tmux client of the run's session on the
  // runs' own socket): its live session's share goes through the same path, onto that terminal's status line.
  it("a live session's share shows on its task run's terminal", async () => {
    const { reply } = await startRun(cp, { live: true });
    const id = reply.task_run.terminal_id;
    await showing(id, '[tether] shared | 0 watching | read-only | ');
    const watcher = await openViewer(reply.link!.url);
    await showing(id, '[tether] shared | 1 watching | read-only | ');
    watcher.close();
    const cancelled = await command(cp as unknown as LiveTether, 'taskRun', 'cancel', reply.task_run.task_run_id, {
      reason: 'seen',
    });
    expect(cancelled).toMatchObject({ ok: true });
  });
});
