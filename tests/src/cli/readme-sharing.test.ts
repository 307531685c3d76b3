import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParticipantLink, ParticipantView, ShareCreated, ShareView } from '@tether/contracts';
import { gitRepo, killTmuxServers, runCli, TetherProcess, useNats } from '../harness/index.ts';
import { runningTerminal } from '../sharing/helpers.ts';

// The README's "Sharing a terminal" walkthrough, run as written, in its order, on a tether with no
// policy file (the built-in default), by the owner's CLI. Only `tether attach` (interactive: its own
// tests) and the approval line (alternatives, for shares a rule holds) are not run.

const ctx = useNats();
let up: TetherProcess;
beforeAll(async () => {
  up = await TetherProcess.start({
    NATS_URL: ctx.nats.url,
    TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-readme-')),
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
  });
});
afterAll(async () => {
  await up?.kill('SIGTERM');
  if (up) await killTmuxServers(up.home);
});

/** The shell lines of the section's step-by-step code block. */
function walkthrough(): string[] {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('Step by step', readme.indexOf('## Sharing a terminal')));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/** A command line's words, quotes removed ("demo over" stays one word). */
const words = (line: string) => [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);

describe('the README sharing walkthrough', () => {
  it('works in the order it is written, from a fresh tether without a policy file', async () => {
    const { term } = await runningTerminal(up);
    const ids: Record<string, string> = { '<terminal-id>': term.terminal_id.slice(0, 8) };
    const ran: string[] = [];
    for (const line of walkthrough()) {
      const [npx, tether, ...args] = words(line);
      expect([npx, tether]).toEqual(['npx', 'tether']);
      if (args[0] === 'attach' || line.includes(' | ')) continue;
      const argv = args.map((a) => ids[a] ?? a);
      const unknown = argv.filter((a) => /^<.*>$/.test(a));
      expect(unknown, `${line}: no value for its placeholders yet`).toEqual([]);
      const r = await runCli(up, [...argv, '--json']);
      expect(r.exitCode, `${line}\n${r.stderr}`).toBe(0);
      const out = JSON.parse(r.stdout) as unknown;
      ran.push(`${args[0]} ${args[1]}`);
      // What each step prints is what the next ones are written with.
      if (args[1] === 'create') ids['<share-id>'] = ShareCreated.parse(out).share.share_id.slice(0, 8);
      if (args[1] === 'participants')
        ids['<participant-id>'] = ParticipantView.array().parse((out as { items: unknown }).items)[0]!.participant_id;
      if (args[1] === 'invite') ids['<carols-participant-id>'] = ParticipantLink.parse(out).participant_id;
      if (args[1] === 'grant-write')
        expect(ShareView.parse(out).participants.find((p) => p.name === 'bob')).toMatchObject({ access: 'write' });
      if (args[1] === 'revoke') expect(ShareView.parse(out).status).toBe('ended');
    }
    expect(ran).toEqual([
      'share create',
      'share participants',
      'share grant-write',
      'share invite',
      'share kick',
      'share extend',
      'share revoke',
    ]);
  });
});
