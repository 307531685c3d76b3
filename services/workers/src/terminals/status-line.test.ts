import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { showStatusLine } from './status-line.ts';
import { Tmux } from './tmux.ts';

describe('showStatusLine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-status-line-'));
  const tmux = new Tmux(join(dir, 'tmux.sock'), '/dev/null');
  afterAll(async () => {
    await tmux.command(['kill-server']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const session = async (name: string) =>
    tmux.newSession(name, dir, {}, 'sleep 600', join(dir, `${name}.exit`)).then(() => name);
  /** The options set on the session itself, as tmux lists them. */
  const local = async (name: string) => (await tmux.command(['show-options', '-t', `=${name}:`])).trim();
  const right = (name: string) => tmux.command(['display-message', '-p', '-t', `=${name}:`, '#{T:status-right}']);

  it('shows a format (evaluated on every draw, once a second) and puts back the inherited options', async () => {
    const s = await session('plain');
    const before = await local(s); // new-session's size only
    expect(before).not.toMatch(/status|@tether/);
    await showStatusLine(tmux, s, 'shared | #{e|+:1,1} watching');
    expect(await right(s)).toBe('shared | 2 watching');
    expect(await tmux.command(['show-options', '-v', '-t', `=${s}:`, 'status-interval'])).toBe('1');
    await showStatusLine(tmux, s, 'shared | 3 watching'); // a change: the saved values stay the first ones
    expect(await right(s)).toBe('shared | 3 watching');
    await showStatusLine(tmux, s, undefined);
    expect(await local(s)).toBe(before); // inherits the global options again, nothing of tether's left
    await showStatusLine(tmux, s, undefined); // nothing shown: nothing to do
    expect(await local(s)).toBe(before);
  });

  it("puts back the session's own values exactly, a trailing semicolon included", async () => {
    const s = await session('own');
    await tmux.command(['set-option', '-t', `=${s}:`, 'status', 'off']);
    await tmux.command(['set-option', '-t', `=${s}:`, 'status-right', 'mine "quoted" #{session_name};\\;']);
    const before = await local(s);
    await showStatusLine(tmux, s, 'shared');
    expect(await tmux.command(['show-options', '-v', '-t', `=${s}:`, 'status'])).toBe('on');
    expect(await right(s)).toBe('shared');
    await showStatusLine(tmux, s, undefined);
    expect(await local(s)).toBe(before);
    expect(await tmux.command(['show-options', '-v', '-t', `=${s}:`, 'status-right'])).toBe(
      'mine "quoted" #{session_name};;',
    );
  });
});
