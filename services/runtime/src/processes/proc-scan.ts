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

function isZombie(pid: string): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}
