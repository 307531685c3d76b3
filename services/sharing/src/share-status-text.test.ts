import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Participant, ShareContext } from '@tether/machines';
import { shareStatusText, type SharedState } from './share-status-text.ts';

// The text is a tmux format: a real tmux evaluates it, at a fixed clock, as it would draw the status line.
const dir = mkdtempSync(join(tmpdir(), 'tether-status-text-'));
const socket = join(dir, 'tmux.sock');
const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-f', '/dev/null', '-S', socket, ...args], { encoding: 'utf8' }).replace(/\n$/, '');
beforeAll(() => void tmux('new-session', '-d', '-s', 'probe', 'sleep 600'));
afterAll(() => {
  tmux('kill-server');
  rmSync(dir, { recursive: true, force: true });
});

const NOW = Date.parse('2026-12-06T10:00:00.000Z');
const CLOCK = String(NOW / 1000);
const at = (msFromNow: number) => new Date(NOW + msFromNow).toISOString();
const shown = (shares: SharedState[], now = NOW) => {
  const format = shareStatusText(shares, { now, clock: CLOCK });
  return format === undefined ? undefined : tmux('display-message', '-p', '-t', '=probe:', format);
};

const viewer = (name: string, p: Partial<Participant> = {}): Participant => ({
  name,
  tokenHash: 'f'.repeat(64),
  access: 'read',
  connections: 0,
  invitedAt: at(-60_000),
  ...p,
});
const watching = (name: string, p: Partial<Participant> = {}) => viewer(name, { connections: 1, ...p });
const typing = (name: string) => watching(name, { access: 'write', writeUntil: at(600_000) });

function share(value: string, ctx: Partial<ShareContext> = {}): SharedState {
  return {
    value,
    context: {
      terminalId: 't1',
      laneId: 'l1',
      backend: 'native',
      access: 'write',
      ttlMs: 1_800_000,
      maxTtlMs: 14_400_000,
      warnBeforeMs: 300_000,
      policy: { effect: 'allow', ruleId: 'people', reason: 'people share' },
      owner: { kind: 'human', id: 'alice' },
      requestedAt: at(-60_000),
      expiresAt: at(754_000),
      extensions: 0,
      participants: {},
      ...ctx,
    },
  };
}

describe('shareStatusText', () => {
  it('says nothing while no share of the terminal has started, or once all ended', () => {
    expect(shown([])).toBeUndefined();
    expect(shown([share('starting'), share('awaitingApproval'), share('ended')])).toBeUndefined();
  });

  it('a native share: how many people watch, nobody else types, the time left', () => {
    expect(shown([share('active')])).toBe('[tether] shared | 0 watching | read-only | 12:34 left');
    const s = share('active', {
      participants: { p1: watching('bob'), p2: watching('carol', { connections: 2 }), p3: viewer('dan') },
    });
    expect(shown([s])).toBe('[tether] shared | 2 watching | read-only | 12:34 left'); // people, not tabs
  });

  it('names who may type; a kicked participant neither watches nor types', () => {
    const s = share('active', {
      participants: { p1: typing('bob'), p2: watching('carol'), p3: viewer('eve', { kicked: true }) },
    });
    expect(shown([s])).toBe('[tether] shared | 2 watching | bob may type | 12:34 left');
    const many = share('active', { participants: { a: typing('ann'), b: typing('bob'), c: typing('cy') } });
    expect(shown([many])).toBe('[tether] shared | 3 watching | ann, bob +1 may type | 12:34 left');
  });

  it('a write grant past its time no longer counts', () => {
    const s = share('active', { participants: { p1: watching('bob', { access: 'write', writeUntil: at(-1) }) } });
    expect(shown([s])).toBe('[tether] shared | 1 watching | read-only | 12:34 left');
  });

  it('tmate and upterm: the backend, and "viewers ?" rather than a number tether cannot know', () => {
    expect(shown([share('active', { backend: 'tmate', access: 'read' })])).toBe(
      '[tether] shared (tmate) | viewers ? | read-only | 12:34 left',
    );
    expect(shown([share('active', { backend: 'upterm', access: 'write' })])).toBe(
      '[tether] shared (upterm) | viewers ? | rw link may type | 12:34 left',
    );
  });

  it('several shares: summarised, the viewers a native relay knows as "N+", the soonest end', () => {
    const shares = [
      share('active', { participants: { p1: typing('bob'), p2: watching('carol') } }),
      share('active', { backend: 'tmate', access: 'read', expiresAt: at(3_700_000) }),
      share('ended', { backend: 'upterm' }),
    ];
    expect(shown(shares)).toBe('[tether] shared x2 (native, tmate) | 2+ watching | bob may type | 12:34 left');
    const two = [share('active', { participants: { p1: watching('bob') } }), share('active', { expiresAt: at(5_000) })];
    expect(shown(two)).toBe('[tether] shared x2 | 1 watching | read-only | 0:05 left');
  });

  it('the countdown: h:mm:ss from an hour, "only" in the grace period, 0:00 once past', () => {
    expect(shown([share('active', { expiresAt: at(3_700_000) })])).toBe(
      '[tether] shared | 0 watching | read-only | 1:01:40 left',
    );
    expect(shown([share('expiring', { expiresAt: at(299_000) })])).toBe(
      '[tether] shared | 0 watching | read-only | only 4:59 left',
    );
    expect(shown([share('expiring', { expiresAt: at(-3_000) })])).toBe(
      '[tether] shared | 0 watching | read-only | only 0:00 left',
    );
  });

  it('counts down by itself: the same text later shows less time', () => {
    const format = shareStatusText([share('active')], { now: NOW, clock: String(NOW / 1000 + 34) });
    expect(tmux('display-message', '-p', '-t', '=probe:', format!)).toContain('| 12:00 left');
  });

  it("names are plain text: tmux's # and strftime's % escaped, control characters dropped, long ones cut", () => {
    const s = share('active', { participants: { p1: typing('%s#{pane_pid}\u001b[2J'), p2: typing('#[fg=red]x') } });
    // display-message keeps "##[" for the style parser, which draws it as a literal "#[".
    expect(shown([s])).toBe('[tether] shared | 2 watching | %s#{pane_pid}[2J, ##[fg=red]x may type | 12:34 left');
    const long = share('active', { participants: { p1: typing('a-very-long-participant-name') } });
    expect(shown([long])).toBe('[tether] shared | 1 watching | a-very-long-par~ may type | 12:34 left');
  });
});
