import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes whose environment has `name=value` (how tether finds what it started). */
export function processesMarked(name: string, value: string): number[] {
  const needle = `${name}=${value}\0`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (`${readFileSync(`/proc/${entry}/environ`, 'latin1')}\0`.includes(needle) && !isZombie(entry))
        out.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** A process as /proc shows it: enough to name it for good and to tell what marked it. */
export interface ScannedProcess {
  pid: number;
  ppid: number;
  /** Clock ticks after boot (field 22 of /proc/<pid>/stat): with the pid, it names one process for good. */
  startTime: string;
  /** Only the environment variables whose names start with the scan's prefix (the rest may hold secrets). */
  env: Record<string, string>;
}

/** One pass over /proc: every live process but this one, with the environment variables named `prefix*`. */
export function scanProcesses(prefix = 'TETHER_'): ScannedProcess[] {
  const out: ScannedProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = procStat(entry);
      if (!stat || stat.state === 'Z') continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const env: Record<string, string> = {};
      if (environ.includes(prefix))
        for (const kv of environ.split('\0'))
          if (kv.startsWith(prefix)) {
            const eq = kv.indexOf('=');
            if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
          }
      out.push({ pid: Number(entry), ppid: stat.ppid, startTime: stat.startTime, env });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** State, parent, process group and start time from /proc/<pid>/stat; undefined once the process is gone. */
export function procStat(
  pid: number | string,
): { state: string; ppid: number; pgrp: number; startTime: string } | undefined {
  try {
    // The command name (field 2) is in parentheses and may hold spaces or ')': fields after the last ')' are fixed.
    const f = readFileSync(`/proc/${pid}/stat`, 'latin1')
      .replace(/^.*\)\s*/s, '')
      .split(' ');
    return { state: f[0] ?? '?', ppid: Number(f[1]), pgrp: Number(f[2]), startTime: f[19] ?? '' };
  } catch {
    return undefined;
  }
}

function isZombie(pid: string): boolean {
  return (procStat(pid)?.state ?? 'Z') === 'Z';
}
