import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { type ApprovalView, ShareCreated, ShareView, type ParticipantLink } from '@tether/contracts';
import { termSubjects } from '@tether/workers';
import { TETHER_BIN, TetherProcess, asActor, eventually, gitRepo, openViewer, useNats } from '../harness/index.ts';
import { as, policyFile, runningTerminal, writeShareForBob } from '../sharing/helpers.ts';

// One tether for the file; each test makes its own terminal and share through the API and drives
// only what it is about through the CLI (every CLI call is a process start: a second or more on a busy machine).
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
  // The CLI calls are alice's, a member, with her token (the owner's credential is in TETHER_HOME).
  env = { ...env, TETHER_URL: up.url, TETHER_TOKEN: (await asActor(up, 'human:alice', 'member')).token };
});
afterAll(async () => {
  await up?.kill();
  await execa('tmux', ['-S', join(env.TETHER_HOME!, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
});

const tether = async (...args: string[]) => {
  const r = await execa(process.execPath, [TETHER_BIN, ...args], { env: { ...process.env, ...env }, reject: false });
  return { ...r, json: () => JSON.parse(r.stdout) };
};
/** A write share of a new running terminal, with a link for bob, made through the API as alice. */
async function sharedTerminal() {
  const { term, session, share, link } = await writeShareForBob(up);
  return { term, session, id: share.share_id, link, bob: link.participant_id };
}
const shareOf = async (id: string) => ShareView.parse((await as(up, 'human:alice', 'GET', `/v1/shares/${id}`)).body);

describe('tether share', () => {
  it('create prints the share and a link to attach; show and extend print it; a bad --ttl is refused', async () => {
    const { term } = await runningTerminal(up);
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
    expect(created.stdout).toMatch(/active\s+native write/);
    const link = /tether attach '(.+)'/.exec(created.stdout)![1]!;
    const id = /\/v\/([^#]+)#/.exec(link)![1]!;

    const [shown, bad] = await Promise.all([
      tether('share', 'show', id, '--json'),
      tether('share', 'extend', id, '--ttl', 'soon'),
    ]);
    const before = ShareView.parse(shown.json());
    expect(before).toMatchObject({
      owner: 'human:alice',
      access: 'write',
      participants: [{ name: 'bob', access: 'read' }],
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('"soon" is not a duration');
    const ext = ShareView.parse((await tether('share', 'extend', id, '--ttl', '5m', '--json')).json());
    expect(Date.parse(ext.expires_at!) - Date.parse(before.expires_at!)).toBe(300_000);
  });

  it('`tether attach` shows output read-only, types once granted, and ends with the reason of the revoke', async () => {
    const { term, session, id, link, bob } = await sharedTerminal();
    const attach = execa(process.execPath, [TETHER_BIN, 'attach', link.url], {
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

    expect((await tether('share', 'grant-write', id, bob, '--ttl', '2m')).exitCode).toBe(0);
    await shows(() => err, 'you may type now');
    attach.stdin!.write('echo bob-types-$((5+5))\r');
    await shows(() => out, 'bob-types-10');

    expect((await tether('share', 'revoke', id, '--reason', 'cli test over')).stdout).toMatch(
      /ended.*revoked: cli test over/,
    );
    const done = await attach;
    expect(done.exitCode).toBe(1);
    expect(err).toMatch(/disconnected: share .* revoked: cli test over/);
  });

  it('invite, participants, revoke-write, kick and list', async () => {
    const { term, id, link, bob } = await sharedTerminal();
    const viewer = await openViewer(link.url);
    await as(up, 'human:alice', 'POST', `/v1/shares/${id}/participants/${bob}/grant-write`, { ttl_ms: 120_000 });
    await eventually(
      () => shareOf(id),
      (s) => s.participants[0]!.connected && s.participants[0]!.access === 'write',
    );

    const carol = (await tether('share', 'invite', id, '--name', 'carol', '--json')).json() as ParticipantLink;
    expect(carol.url).toContain(`/v/${id}#t=`);
    expect((await tether('share', 'participants', id)).stdout).toMatch(
      /bob\s+write.*connected[\s\S]*carol\s+read.*not connected/,
    );
    const [readOnly, kicked] = await Promise.all([
      tether('share', 'revoke-write', id, bob),
      tether('share', 'kick', id, carol.participant_id, '--reason', 'wrong person'),
    ]);
    expect(readOnly.stdout).toMatch(/bob\s+read/);
    expect(kicked.stdout).toMatch(/carol\s+read.*kicked/);
    expect((await tether('share', 'list', '--terminal', term.terminal_id, '--live')).stdout).toContain(id.slice(0, 8));
    viewer.close();
  });
});

describe('tether approval', () => {
  it("lists an agent's share request and approves it under the operator's name", async () => {
    const { term } = await runningTerminal(up);
    const asAgent = await execa(
      process.execPath,
      [TETHER_BIN, 'share', 'create', '--terminal', term.terminal_id, '--json'],
      { env: { ...process.env, ...env, TETHER_TOKEN: (await asActor(up, 'ai:codex', 'agent')).token } },
    );
    const held = ShareCreated.parse(JSON.parse(asAgent.stdout));
    expect(held.share.status).toBe('awaiting_approval');
    // The approval is a read model: wait for it through the API, then list it once through the CLI.
    await eventually(
      async () => (await as<{ items: ApprovalView[] }>(up, 'human:alice', 'GET', '/v1/approvals')).body.items,
      (items) => items.some((a) => a.share_id === held.share.share_id),
    );
    expect((await tether('approval', 'list')).stdout).toContain(`share ${held.share.share_id.slice(0, 8)} by ai:codex`);
    // alice is no operator: the rule says so; an operator's token decides.
    const refused = await tether('approval', 'approve', held.share.approval_id!, '--note', 'fine');
    expect(refused.stderr).toContain('FORBIDDEN');
    expect(refused.stderr).toContain('operators-decide-approvals');
    const lead = (await asActor(up, 'human:lead', 'operator')).token;
    const ok = await execa(
      process.execPath,
      [TETHER_BIN, 'approval', 'approve', held.share.approval_id!, '--note', 'fine'],
      {
        env: { ...process.env, ...env, TETHER_TOKEN: lead },
      },
    );
    expect(ok.stdout).toMatch(/approved.*decided by human:lead/);
  });
});

describe('tether share: mistakes', () => {
  it('a bad backend and a link that is not a share link are clear errors, exit 2', async () => {
    const [bad, noLink] = await Promise.all([
      tether('share', 'create', '--terminal', 'some-terminal', '--backend', 'telnet'),
      tether('attach', 'http://127.0.0.1:1/nothing'),
    ]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/error INVALID_COMMAND: invalid request body/);
    expect(noLink.exitCode).toBe(2);
    expect(noLink.stderr).toContain('is not a share link');
  });
});
