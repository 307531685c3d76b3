import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapturedContext } from '@tether/contracts';
import type { TerminalAccess } from '@tether/runtime';
import type { SecretBox } from '../secrets.ts';
import { gitSummary } from './git-status.ts';

export interface CaptureDeps {
  terminals: Pick<TerminalAccess, 'scrollback' | 'shell'>;
  secrets: SecretBox;
  /** The data folder: snapshots go to <home>/handoffs (mode 0700, files 0600). */
  home: string;
}

/** What a capture is of: the handoff, its terminal, the lane's worktree and the handoff's correlation id. */
export interface CaptureOf {
  handoffId: string;
  terminalId: string;
  worktree: string;
  correlationId: string;
}

const MAX_NAMES = 4_096;

/** Written whole or not at all: a reader never sees half a snapshot. */
function writePrivate(path: string, data: string | Uint8Array) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * Captures a terminal's context for its handoff, after the handoff was allowed: the shell's working
 * directory and environment (the names for the stream, the values sealed with tether's key in a file
 * only tether can open), a snapshot of its scrollback, and the lane's git status.
 */
export async function captureContext(deps: CaptureDeps, of: CaptureOf): Promise<CapturedContext> {
  const [shell, back, git] = await Promise.all([
    deps.terminals.shell(of.terminalId),
    deps.terminals.scrollback(of.terminalId),
    gitSummary(of.worktree),
  ]);
  const dir = join(deps.home, 'handoffs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const envRef = join('handoffs', `${of.handoffId}.env.sealed`);
  const scrollbackRef = join('handoffs', `${of.handoffId}.scrollback`);
  writePrivate(join(deps.home, envRef), deps.secrets.seal(shell.environ));
  writePrivate(join(deps.home, scrollbackRef), back.data);
  return {
    cwd: shell.cwd,
    env: {
      names: Object.keys(shell.environ)
        .filter((n) => n.length <= 256)
        .sort()
        .slice(0, MAX_NAMES),
      sealedRef: envRef,
    },
    scrollback: {
      ref: scrollbackRef,
      offset: back.offset,
      bytes: back.data.length,
      sha256: createHash('sha256').update(back.data).digest('hex'),
    },
    git,
    correlationId: of.correlationId,
    capturedAt: new Date().toISOString(),
  };
}
