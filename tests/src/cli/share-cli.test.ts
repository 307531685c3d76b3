import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { ShareCreated, ShareView, type ParticipantLink } from '@tether/contracts';
import { termSubjects } from '@tether/workers';
import { TETHER_BIN, TetherProcess, eventually, gitRepo, useNats } from '../harness/index.ts';
import { policyFile, runningTerminal } from '../sharing/helpers.ts';

const ctx = useNats();
let up: TetherProcess;
let env: Record<string, string>;
beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'tether-sharecli-'));
  env = {
    NATS_URL: ctx.nats.url,
    TETHER_HOME: home,
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
    TETHER_SHARE_POLICY: policyFile(),
  };
  up = await TetherProcess.start(env);
  env = { ...env, TETHER_URL: up.url, TETHER_ACTOR: 'alice' };
});
afterAll(async () => {
  await up?.kill();
  await execa('tmux', ['-S', join(env.TETHER_HOME!, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
});

const tether = async (...args: string[]) => {
  const r = await execa(process.execPath, [TETHER_BIN, ...args], { env: { ...process.env, ...env }, reject: false });
  return { ...r, json: () => JSON.parse(r.stdout) };
};

describe('tether share / approval / attach', () => {
  it('creates, shows, extends, invites, grants, kicks and revokes; `tether attach` watches, types once granted, and ends with the reason', async () => {
    const { term, session } = await runningTerminal(up.url);
    const created = await tether(
      'share',
      'create',
      '--terminal',
      term.terminal_id,
      '--access',
      'write',
      '--ttl',
      '10m',
      '--name',
      'bob',
    );
    expect(created.exitCode).toBe(0);
    expect(created.stdout).toMatch(/active\s+native read|active\s+native write/);
    const link = /tether attach '(.+)'/.exec(created.stdout)![1]!;
    const id = /\/v\/([^#]+)#/.exec(link)![1]!;

    const shown = ShareView.parse((await tether('share', 'show', id, '--json')).json());
    expect(shown).toMatchObject({
      owner: 'human:alice',
      access: 'write',
      participants: [{ name: 'bob', access: 'read' }],
    });
    const ext = ShareView.parse((await tether('share', 'extend', id, '--ttl', '5m', '--json')).json());
    expect(Date.parse(ext.expires_at!) - Date.parse(shown.expires_at!)).toBe(300_000);
    expect((await tether('share', 'extend', id, '--ttl', 'soon')).stderr).toContain('is not a duration');

    // `tether attach`: read-only output first.
    const attach = execa(process.execPath, [TETHER_BIN, 'attach', link], {
      env: { ...process.env, ...env },
      reject: false,
      stdin: 'pipe',
    });
    let out = '';
    let err = '';
    /** Until the attach's stdout or stderr shows `text`. */
    const shows = (get: () => string, text: string) => eventually(get, (s) => s.includes(text));
    attach.stdout!.on('data', (d) => (out += d));
    attach.stderr!.on('data', (d) => (err += d));
    await shows(() => err, 'read-only');
    ctx.store.nc.publish(
      termSubjects.in(term.terminal_id),
      JSON.stringify({ data: 'echo shown-to-bob-$((40+2))\r', from: session.session_id }),
    );
    await shows(() => out, 'shown-to-bob-42');
    attach.stdin!.write('echo bob-types-$((5+5))\r');
    await shows(() => err, 'your input was not sent');

    const pid = shown.participants[0]!.participant_id;
    expect((await tether('share', 'grant-write', id, pid, '--ttl', '2m')).exitCode).toBe(0);
    await shows(() => err, 'you may type now');
    attach.stdin!.write('echo bob-types-$((5+5))\r');
    await shows(() => out, 'bob-types-10');

    const carol = (await tether('share', 'invite', id, '--name', 'carol', '--json')).json() as ParticipantLink;
    expect(carol.url).toContain(`/v/${id}#t=`);
    expect((await tether('share', 'participants', id)).stdout).toMatch(
      /bob\s+write.*connected[\s\S]*carol\s+read.*not connected/,
    );
    expect((await tether('share', 'revoke-write', id, pid)).stdout).toMatch(/bob\s+read/);
    expect((await tether('share', 'kick', id, carol.participant_id, '--reason', 'wrong person')).stdout).toMatch(
      /carol\s+read.*kicked/,
    );
    expect((await tether('share', 'list', '--terminal', term.terminal_id, '--live')).stdout).toContain(id);

    expect((await tether('share', 'revoke', id, '--reason', 'cli test over')).stdout).toMatch(
      /ended.*revoked: cli test over/,
    );
    const done = await attach;
    expect(done.exitCode).toBe(1);
    expect(err).toMatch(/disconnected: share .* revoked: cli test over/);
  });

  it('approvals from the CLI, and clear errors for bad input', async () => {
    const { term } = await runningTerminal(up.url);
    const asAgent = await execa(
      process.execPath,
      [TETHER_BIN, 'share', 'create', '--terminal', term.terminal_id, '--json'],
      { env: { ...process.env, ...env, TETHER_ACTOR: 'ai:codex' } },
    );
    const held = ShareCreated.parse(JSON.parse(asAgent.stdout));
    expect(held.share.status).toBe('awaiting_approval');
    await eventually(
      async () => (await tether('approval', 'list')).stdout,
      (o) => o.includes(held.share.share_id),
    );
    const ok = await tether('approval', 'approve', held.share.share_id, '--note', 'fine');
    expect(ok.stdout).toMatch(/approved.*decided by human:alice/);
    const bad = await tether('share', 'create', '--terminal', term.terminal_id, '--backend', 'telnet');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/error INVALID_COMMAND: invalid request body/);
    const noLink = await tether('attach', 'http://127.0.0.1:1/nothing');
    expect(noLink.exitCode).toBe(2);
    expect(noLink.stderr).toContain('is not a share link');
  });
});
