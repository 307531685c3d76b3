import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { ShareCreated, type RelayMessage } from '@tether/contracts';
import { termSubjects } from '@tether/workers';
import { eventually, openViewer, useControlPlane, type Viewer } from '../harness/index.ts';
import { as, createShare, policyFile, runningTerminal } from './helpers.ts';

// The share protocol's sizes and resumes (docs/share-protocol.md), through the real relay, NATS and tmux.
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
const tmux = (...args: string[]) => execa('tmux', ['-S', join(cp.home, 'terminals', 'tmux.sock'), ...args]);
/** The window's size as tmux has it, e.g. "120x40". */
const windowSize = async (terminalId: string) =>
  (await tmux('display-message', '-p', '-t', `=${terminalId}:`, '#{window_width}x#{window_height}')).stdout.trim();
const sizesTold = (v: Viewer) => v.messages.filter((m) => m.type === 'size');
const welcomed = async (v: Viewer) =>
  (await eventually(
    () => v.messages.find((m) => m.type === 'welcome'),
    (m) => m !== undefined,
  )) as Extract<RelayMessage, { type: 'welcome' }>;
const grantWrite = (shareId: string, participantId: string) =>
  as(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/participants/${participantId}/grant-write`, {});
const invite = async (shareId: string, name: string) =>
  (
    await as<{ url: string; participant_id: string }>(cp, 'human:alice', 'POST', `/v1/shares/${shareId}/participants`, {
      name,
    })
  ).body;

describe('terminal sizes over the share relay', () => {
  it("the writer's size wins: a read-only viewer's size is kept aside until a grant; everyone hears whose size it is", async () => {
    const { term } = await runningTerminal(cp);
    const created = await createShare(cp, 'human:alice', {
      terminal_id: term.terminal_id,
      access: 'write',
      participant: 'bob',
    });
    const { share, link } = ShareCreated.parse(created.body);
    const bob = await openViewer(link!.url, 'cli', { cols: 120, rows: 40 });
    expect(await welcomed(bob)).toMatchObject({
      access: 'read',
      size: { cols: 200, rows: 50, by: null },
      resumed: false,
      offset: 0,
    });
    // Read-only: bob's size does not change the terminal.
    bob.send({ type: 'resize', cols: 100, rows: 30 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await windowSize(term.terminal_id)).toBe('200x50');

    // Granted: his last size wins at once, and every participant is told.
    const carol = await openViewer((await invite(share.share_id, 'carol')).url, 'cli', { cols: 80, rows: 24 });
    await welcomed(carol);
    expect((await grantWrite(share.share_id, link!.participant_id)).status).toBe(200);
    await eventually(
      () => windowSize(term.terminal_id),
      (s) => s === '100x30',
    );
    for (const v of [bob, carol])
      await eventually(
        () => sizesTold(v).at(-1),
        (m) => m?.cols === 100 && m.rows === 30 && m.by === 'bob',
      );

    // A writer's resize follows; a read-only participant's does not; bad ones are refused, nothing changes.
    bob.send({ type: 'resize', cols: 132, rows: 43 });
    await eventually(
      () => windowSize(term.terminal_id),
      (s) => s === '132x43',
    );
    carol.send({ type: 'resize', cols: 90, rows: 20 });
    carol.send({ type: 'resize', cols: 5, rows: 20 });
    await eventually(
      () => carol.messages.find((m) => m.type === 'refused'),
      (m) => String(m?.message).includes('cols'),
    );
    bob.send({ type: 'resize', cols: 2000, rows: 20 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await windowSize(term.terminal_id)).toBe('132x43');
    expect(sizesTold(carol).at(-1)).toMatchObject({ cols: 132, rows: 43, by: 'bob' });

    // Around the relay, straight onto the terminal's resize subject as carol: the terminal checks the grant.
    cp.ctx.store.nc.publish(
      termSubjects.resize(term.terminal_id),
      JSON.stringify({
        cols: 70,
        rows: 20,
        from: `share:${share.share_id}:${carol.messages[0]!.participant_id}`,
        by: 'carol',
      }),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await windowSize(term.terminal_id)).toBe('132x43');

    // A viewer joining now is told the size and whose it is in its welcome.
    const dave = await openViewer((await invite(share.share_id, 'dave')).url);
    expect(await welcomed(dave)).toMatchObject({ size: { cols: 132, rows: 43, by: 'bob' } });

    // Someone at the machine resizes the window with tmux itself: it is the owner's size now, and viewers hear it.
    await tmux('resize-window', '-t', `=${term.terminal_id}:`, '-x', '101', '-y', '31');
    for (const v of [bob, dave])
      await eventually(
        () => sizesTold(v).at(-1),
        (m) => m?.cols === 101 && m.rows === 31 && m.by === 'owner',
      );
    await as(cp, 'human:alice', 'POST', `/v1/shares/${share.share_id}/revoke`, {});
  });

  it("a human's `tmux attach` in a smaller terminal does not shrink the pane everyone sees", async () => {
    const { term } = await runningTerminal(cp);
    expect(await windowSize(term.terminal_id)).toBe('200x50');
    // A real client in a real 80x23 pty (script(1)), as someone at the machine would attach.
    const socket = join(cp.home, 'terminals', 'tmux.sock');
    const client = spawn(
      'script',
      ['-qfec', `stty rows 23 cols 80; exec tmux -S '${socket}' attach -t '=${term.terminal_id}'`, '/dev/null'],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    try {
      await eventually(
        async () => (await tmux('list-clients', '-F', '#{client_width}x#{client_height}')).stdout.trim(),
        (s) => s === '80x23',
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(await windowSize(term.terminal_id)).toBe('200x50');
      expect((await tmux('show-options', '-w', '-v', '-t', `=${term.terminal_id}:`, 'window-size')).stdout.trim()).toBe(
        'manual',
      );
    } finally {
      client.kill('SIGKILL');
    }
  });
});

describe('resuming a viewer', () => {
  it('same stream: only the missing bytes; another stream or an offset no longer held: the whole scrollback', async () => {
    const { term, session } = await runningTerminal(cp);
    const { link } = ShareCreated.parse((await createShare(cp, 'human:alice', { terminal_id: term.terminal_id })).body);
    const say = (line: string) =>
      cp.ctx.store.nc.publish(
        termSubjects.in(term.terminal_id),
        JSON.stringify({ data: `echo ${line}\r`, from: session.session_id }),
      );
    const first = await openViewer(link!.url);
    const w1 = await welcomed(first);
    say('one-$((1+1))');
    await eventually(
      () => first.output(),
      (o) => o.includes('one-2'),
    );
    const had = Buffer.byteLength(first.output());
    first.close();
    await first.closed;
    say('two-$((1+2))');

    // Same stream, the offset it had: the welcome says resumed, and only what it missed follows.
    const again = await openViewer(link!.url, 'cli', { resume: { stream: w1.stream, offset: w1.offset + had } });
    const w2 = await welcomed(again);
    expect(w2).toMatchObject({ stream: w1.stream, offset: w1.offset + had, resumed: true });
    await eventually(
      () => again.output(),
      (o) => o.includes('two-3'),
    );
    expect(again.output()).not.toContain('one-2');

    // Another stream (a tether restart's): the whole scrollback, from its start.
    const other = await openViewer(link!.url, 'cli', { resume: { stream: 'an-older-stream', offset: 5 } });
    expect(await welcomed(other)).toMatchObject({ stream: w1.stream, resumed: false, offset: 0 });
    await eventually(
      () => other.output(),
      (o) => o.includes('one-2') && o.includes('two-3'),
    );
    // An offset past the end was never served: the whole scrollback too.
    const ahead = await openViewer(link!.url, 'cli', { resume: { stream: w1.stream, offset: 10_000_000 } });
    expect(await welcomed(ahead)).toMatchObject({ resumed: false, offset: 0 });
    for (const v of [again, other, ahead]) v.close();
  });
});
