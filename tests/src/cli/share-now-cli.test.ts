import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { type LaneView, ShareCreated, ShareView, type TerminalView } from '@tether/contracts';
import { TETHER_BIN, api, eventually, runCli, useControlPlane } from '../harness/index.ts';
import { policyFile, runningTerminal } from '../sharing/helpers.ts';

// One command to share: `tether share` in a tether terminal, `tether share --new`, and `tether attach` with only
// Node, through the tether.mjs the server serves. One in-process tether for the file (its owner, human:ops, shares).
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
const tether = async (args: string[], env: Record<string, string> = {}) => {
  const r = await runCli(cp, args, { TETHER_WORKSPACE: 'ws1', TETHER_TERMINAL_ID: '', ...env });
  return { ...r, json: () => JSON.parse(r.stdout) };
};
const shareOf = async (id: string) => ShareView.parse((await api(cp, 'GET', `/v1/shares/${id}`)).body);
/** The link a command printed (`tether attach '<link>'`). */
const linkIn = (stdout: string) => /^ {2}tether attach '(.+)'$/m.exec(stdout)![1]!;

describe('tether share (no subcommand)', () => {
  it('inside a tether terminal shares that terminal read-only, and prints the link, the participant id and how to kick', async () => {
    const { term } = await runningTerminal(cp);
    const r = await tether(['share', '--name', 'bob'], { TETHER_TERMINAL_ID: term.terminal_id });
    expect(r.exitCode, r.stderr).toBe(0);
    const link = linkIn(r.stdout);
    const shareId = /\/v\/([^#]+)#/.exec(link)![1]!;
    const share = await shareOf(shareId);
    expect(share).toMatchObject({ terminal_id: term.terminal_id, access: 'read', status: 'active' });
    const bob = share.participants[0]!.participant_id;
    // Ids short, like git: the first 8 characters.
    expect(r.stdout).toContain(`${shareId.slice(0, 8)}  active`);
    expect(r.stdout).not.toContain(`${shareId} `);
    expect(r.stdout).toContain(`link for bob (participant ${bob.slice(0, 8)};`);
    expect(r.stdout).toContain(`tether share kick ${shareId.slice(0, 8)} ${bob.slice(0, 8)}`);
    expect(r.stdout).toContain(
      `curl -fsS ${cp.url}/tether.mjs -o /tmp/tether.mjs && node /tmp/tether.mjs attach '${link}'`,
    );
  });

  it('typed into a tether terminal, it finds its tether and shares that very terminal', async () => {
    const { term } = await runningTerminal(cp);
    const dir = mkdtempSync(join(tmpdir(), 'tether-inside-'));
    // The terminal's own environment says which terminal it is and where its tether is: nothing else is passed.
    await execa('tmux', [
      ...['-S', join(cp.home, 'terminals', 'tmux.sock'), 'send-keys', '-t', `=${term.terminal_id}:`],
      `${process.execPath} ${TETHER_BIN} share --name inside --json > ${dir}/out.json 2>&1; echo done > ${dir}/done`,
      'Enter',
    ]);
    await eventually(
      () => existsSync(join(dir, 'done')),
      (d) => d,
    );
    const made = ShareCreated.parse(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')));
    expect(made.share).toMatchObject({ terminal_id: term.terminal_id, access: 'read' });
    expect(made.link).toMatchObject({ name: 'inside' });
  });

  it('outside a tether terminal is a clear error that says what to pass, and shares nothing', async () => {
    const before = (await api<{ items: unknown[] }>(cp, 'GET', '/v1/shares')).body.items.length;
    const r = await tether(['share']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/error INVALID_COMMAND: this is not a tether terminal \(TETHER_TERMINAL_ID is not set\)/);
    expect(r.stderr).toContain('pass --terminal <terminal-id>');
    expect(r.stderr).toContain('--new');
    const [both, lane, wrong] = await Promise.all([
      tether(['share', '--new', '--terminal', 't1']),
      tether(['share', '--lane', 'l1']),
      tether(['share', 'bogus']),
    ]);
    expect(both.stderr).toContain('give one of them, not both');
    expect(lane.stderr).toContain('--lane goes with --new');
    expect(wrong.stderr).toMatch(/Unknown command 'bogus' for 'tether share' \(it takes create, list/);
    expect((await api<{ items: unknown[] }>(cp, 'GET', '/v1/shares')).body.items.length).toBe(before);
  });

  it('durations need a unit: --ttl 10 is refused with what to write, before anything is made', async () => {
    const { term } = await runningTerminal(cp);
    const [bare, create, extend] = await Promise.all([
      tether(['share', '--terminal', term.terminal_id, '--ttl', '10']),
      tether(['share', 'create', '--terminal', term.terminal_id, '--ttl', '10']),
      tether(['share', 'extend', 'sh-whatever', '--ttl', '5']),
    ]);
    for (const r of [bare, create]) {
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe('error INVALID_COMMAND: --ttl 10 has no unit; write 10m, 90s or 1h');
    }
    expect(extend.stderr).toContain('--ttl 5 has no unit; write 5m, 90s or 1h');
    const shares = (await api<{ items: ShareView[] }>(cp, 'GET', `/v1/shares?terminal_id=${term.terminal_id}`)).body;
    expect(shares.items).toEqual([]);
  });
});

describe('tether share --new', () => {
  it('makes a lane, a session and a terminal, shares it with a QR code of the link, and says how to attach when not on a terminal', async () => {
    const r = await tether(['share', '--new', '--qr', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const made = r.json() as ShareCreated & { lane: LaneView; terminal: TerminalView };
    expect(made.lane.display_name).toMatch(/^shared terminal \d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(made.share).toMatchObject({ terminal_id: made.terminal.terminal_id, access: 'read', status: 'active' });
    expect(made.link!.url).toContain(`/v/${made.share.share_id}#t=`);
    // JSON out: no attach, and the way to do it.
    expect(r.stderr).toContain(
      `not attaching: the output is JSON; attach with: tether terminal attach ${made.terminal.terminal_id.slice(0, 8)}`,
    );
    // stdin is no terminal here either (a real one attaches: attach-pty.test.ts).
    const piped = await tether(['share', '--new']);
    expect(piped.stderr).toMatch(
      /^not attaching: this is not an interactive terminal; attach with: tether terminal attach \S{8}$/,
    );

    const human = await tether(['share', '--new', '--qr', '--no-attach', '--name', 'dana']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^lane \S{8} {2}shared terminal .* \(new\)$/m);
    expect(human.stdout).toMatch(/^terminal \S{8} {2}active \(new\)$/m);
    expect(human.stdout).toContain('link for dana (participant ');
    // The QR code: black on white half blocks, after the link.
    expect(
      human.stdout.split('\n').filter((l) => l.startsWith('\x1b[30;47m') && /^[ ▀▄█]{20,}$/.test(l.slice(8, -4)))
        .length,
    ).toBeGreaterThan(10);
    expect(human.stderr).toBe(''); // --no-attach: nothing to say
  });

  it('--lane L shares the running terminal the lane has (no second one)', async () => {
    const { lane, term } = await runningTerminal(cp);
    const r = await tether(['share', '--new', '--lane', lane.lane_id, '--no-attach', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json().share.terminal_id).toBe(term.terminal_id);
    const terms = (
      await api<{ items: TerminalView[] }>(cp, 'GET', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`)
    ).body.items;
    expect(terms).toHaveLength(1);
  });
});

describe('invites', () => {
  it('print the participant id and how to kick; a name already there gets a suffix', async () => {
    const { term } = await runningTerminal(cp);
    const created = (await tether(['share', '--terminal', term.terminal_id, '--name', 'bob', '--json'])).json();
    const id = (created as ShareCreated).share.share_id;
    const second = await tether(['share', 'invite', id, '--name', 'bob']);
    const third = await tether(['share', 'invite', id, '--name', 'bob', '--json']);
    expect(second.stdout).toMatch(/^link for bob-2 \(participant p-\S{6};/m);
    expect(third.json()).toMatchObject({ name: 'bob-3' });
    const share = await shareOf(id);
    expect(share.participants.map((p) => p.name).sort()).toEqual(['bob', 'bob-2', 'bob-3']);
    const bob2 = share.participants.find((p) => p.name === 'bob-2')!.participant_id;
    expect(second.stdout).toContain(`tether share kick ${id.slice(0, 8)} ${bob2.slice(0, 8)}`);
    // The full ids stay in --json; the kick it printed works with the full ids.
    expect(third.json().participant_id).toMatch(/^p-.{12}$/);
    const kicked = await tether(['share', 'kick', id, bob2]);
    expect(kicked.stdout).toMatch(new RegExp(`^${bob2.slice(0, 8)}  bob-2 .*kicked$`));
  });
});

describe('tether attach with only Node', () => {
  it('the tether serves tether.mjs; downloaded outside the repo, node runs it to attach', async () => {
    const { term } = await runningTerminal(cp);
    const r = await tether(['share', '--terminal', term.terminal_id, '--name', 'remote']);
    const link = linkIn(r.stdout);
    const res = await fetch(`${cp.url}/tether.mjs`); // no credential
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const dir = mkdtempSync(join(tmpdir(), 'tether-mjs-'));
    writeFileSync(join(dir, 'tether.mjs'), Buffer.from(await res.arrayBuffer()));
    // Only node, in a folder with no node_modules near it: the file brings what it needs.
    const attach = execa(process.execPath, [join(dir, 'tether.mjs'), 'attach', link], {
      cwd: dir,
      env: { PATH: process.env.PATH!, HOME: dir },
      reject: false,
      stdin: 'pipe',
    });
    let out = '';
    let err = '';
    attach.stdout!.on('data', (d) => (out += d));
    attach.stderr!.on('data', (d) => (err += d));
    await eventually(
      () => err,
      (e) => e.includes('as remote (read-only)'),
    );
    const tmux = ['-S', join(cp.home, 'terminals', 'tmux.sock')];
    await execa('tmux', [...tmux, 'send-keys', '-t', `=${term.terminal_id}:`, 'echo from-$((6*7))-here', 'Enter']);
    await eventually(
      () => out,
      (o) => o.includes('from-42-here'),
    );
    attach.stdin!.write('\x1d'); // Ctrl-]
    expect((await attach).exitCode).toBe(0);
    const help = await execa(process.execPath, [join(dir, 'tether.mjs'), 'up'], { cwd: dir, reject: false });
    expect(help.exitCode).toBe(2);
    expect(help.stderr).toContain('this tether.mjs only attaches');
  });
});
