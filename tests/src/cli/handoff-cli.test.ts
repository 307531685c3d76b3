import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { HandoffView } from '@tether/contracts';
import { TETHER_BIN, TetherProcess, asActor, eventually, gitRepo, useNats } from '../harness/index.ts';
import { as, policyFile, runningTerminal } from '../sharing/helpers.ts';

// `tether handoff …` against one `tether up` child: a person hands a terminal to a person through the
// CLI (request, inbox, accept), and an agent handoff held for an operator is approved or denied.
const ctx = useNats();
let up: TetherProcess;
let env: Record<string, string>;
beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'tether-handoffcli-'));
  env = {
    NATS_URL: ctx.nats.url,
    TETHER_HOME: home,
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
    TETHER_SHARE_POLICY: policyFile([
      { id: 'to-people', effect: 'allow', actions: ['handoff'], to: ['human:*'] },
      { id: 'to-agents', effect: 'allow', actions: ['handoff'], to: ['ai:*'], requireApproval: true },
    ]),
  };
  up = await TetherProcess.start(env);
  env = { ...env, TETHER_URL: up.url };
});
afterAll(async () => {
  await up?.kill();
  await execa('tmux', ['-S', join(env.TETHER_HOME!, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
});

/** The CLI as `actor` ("alice", "ai:codex"), with a credential of its own: carol is an operator, people members, agents agents. */
const tether = async (actor: string, ...args: string[]) => {
  const role = actor === 'carol' ? 'operator' : actor.startsWith('ai:') ? 'agent' : 'member';
  const r = await execa(process.execPath, [TETHER_BIN, ...args], {
    env: { ...process.env, ...env, TETHER_TOKEN: (await asActor(up, actor, role)).token },
    reject: false,
  });
  return { ...r, json: () => JSON.parse(r.stdout) };
};

describe('tether handoff', () => {
  it('request, the receiver finds it in the inbox and accepts; list shows it completed', async () => {
    const { term } = await runningTerminal(up);
    const asked = await tether(
      'alice',
      'handoff',
      'request',
      '--terminal',
      term.terminal_id,
      '--to',
      'bob',
      '--note',
      'your turn',
    );
    expect([asked.exitCode, asked.stderr]).toEqual([0, '']);
    const short = /^(ho-[0-9a-f]+)\s/.exec(asked.stdout)![1]!; // ids are printed short, like git
    const listed = await tether('alice', 'handoff', 'list', '--terminal', term.terminal_id, '--json');
    const id = HandoffView.array().parse(listed.json().items)[0]!.handoff_id;
    expect([short.length, id.startsWith(short)]).toEqual([8, true]);
    expect(asked.stdout).toMatch(/offered\s+terminal .* human:alice → human:bob/);
    expect(asked.stdout).toMatch(/git .*; 0 staged, 0 unstaged, 0 untracked, 0 conflicted/);

    const inbox = await tether('bob', 'handoff', 'inbox');
    expect(inbox.stdout).toContain(`accept: tether handoff accept ${short}`);
    expect((await tether('carol', 'handoff', 'inbox')).stdout).toBe('nothing handed to you');
    const notCarols = await tether('carol', 'handoff', 'accept', id);
    expect(notCarols.exitCode).toBe(1);
    expect(notCarols.stderr).toMatch(/NOT_ALLOWED: only the receiver of handoff .* \(human:bob\) may accept it/);

    const took = await tether('bob', 'handoff', 'accept', id, '--session', 'bob-keyboard');
    expect([took.exitCode, took.stderr]).toEqual([0, '']);
    expect(took.stdout).toMatch(/the keyboard is human:bob's: session bob-keyboard types into terminal/);
    const list = await tether('alice', 'handoff', 'list', '--terminal', term.terminal_id, '--json');
    expect(HandoffView.array().parse(list.json().items)).toMatchObject([{ handoff_id: id, status: 'completed' }]);
  });

  it('a handoff to an agent waits for an operator: approve and deny by handoff id; the requester may not approve', async () => {
    const [a, b] = await Promise.all([runningTerminal(up), runningTerminal(up)]);
    const held = await Promise.all(
      [a, b].map(async ({ term }) =>
        HandoffView.parse(
          (await as(up, 'human:alice', 'POST', '/v1/handoffs', { terminal_id: term.terminal_id, to: 'ai:codex' })).body,
        ),
      ),
    );
    for (const h of held) {
      expect(h.status).toBe('awaiting_approval');
      await eventually(
        () => as(up, 'human:carol', 'GET', `/v1/approvals/${h.handoff_id}`),
        (r) => r.status === 200,
      );
    }
    const own = await tether('alice', 'handoff', 'approve', held[0]!.handoff_id);
    expect(own.stderr).toMatch(
      /FORBIDDEN: human:alice \(member\) may not approval\.approve \(rule operators-decide-approvals\)/,
    );
    const ok = await tether('carol', 'handoff', 'approve', held[0]!.handoff_id, '--note', 'go');
    expect(ok.stdout).toBe(
      `approval ${held[0]!.handoff_id.slice(0, 8)} approved by human:carol (handoff ${held[0]!.handoff_id.slice(0, 8)})`,
    );
    const no = await tether('carol', 'handoff', 'deny', held[1]!.handoff_id, '--reason', 'not now');
    expect(no.exitCode).toBe(0);
    const [offered, denied] = await Promise.all(
      held.map((h, i) =>
        eventually(
          async () => HandoffView.parse((await as(up, 'human:alice', 'GET', `/v1/handoffs/${h.handoff_id}`)).body),
          (v) => v.status === (i === 0 ? 'offered' : 'denied'),
        ),
      ),
    );
    expect(offered!.context).not.toBeNull();
    expect(denied!.ended).toMatchObject({ reason: 'denied by human:carol: not now' });
    expect((await tether('alice', 'handoff', 'show', held[1]!.handoff_id)).stdout).toMatch(/denied .*not now/);
  });
});
