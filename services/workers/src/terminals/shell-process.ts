import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { ShellProcess } from '@tether/runtime';

/** Children of `pid`: the kernel's own list where it keeps one, else a scan of /proc for that parent. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // The fields after the ")" that ends the command name: state, then the parent's pid.
        const ppid = Number(
          readFileSync(`/proc/${entry}/stat`, 'latin1')
            .replace(/^.*\) /, '')
            .split(' ')[1],
        );
        if (ppid === pid) out.push(Number(entry));
      } catch {
        /* gone meanwhile */
      }
    }
    return out;
  }
}

/** NUL-separated NAME=value pairs; a value may hold "=" and, rarely, a name may be odd: kept as written. */
export function parseEnviron(raw: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of raw.split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * The shell of a terminal's pane, as /proc shows it. The pane runs tether's small sh wrapper (it
 * records the exit status), whose one child is the shell; a pane without a child is the shell itself.
 * The environment is the one the shell started with: what it exported later is not in /proc.
 */
export function shellProcess(panePid: number): ShellProcess {
  const pid = childrenOf(panePid)[0] ?? panePid;
  try {
    return {
      pid,
      cwd: readlinkSync(`/proc/${pid}/cwd`),
      environ: parseEnviron(readFileSync(`/proc/${pid}/environ`, 'utf8')),
    };
  } catch (err) {
    throw new Error(`the shell of pane ${panePid} (pid ${pid}) cannot be read in /proc: ${(err as Error).message}`);
  }
}
