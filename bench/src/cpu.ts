import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (user + system, ms) of a process from /proc/<pid>/stat; undefined off Linux or once it exited. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

const TICKS_PER_SECOND = 100;

/** The pid of the nats-server listening on `port` (NatsServer keeps its child private). */
export function natsServerPid(port: number): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('nats-server') && args[args.indexOf('-p') + 1] === String(port)) return Number(d);
    } catch {
      /* exited meanwhile */
    }
  }
  return undefined;
}

/** CPU each named process spends from this call until microsPerOp(ops), in µs per operation. */
export function cpuMeter(pids: Record<string, number | undefined>) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
  return {
    microsPerOp(ops: number): Record<string, number> {
      const out: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const b = before[name];
        const now = cpuMs(pid);
        if (now !== undefined && b !== undefined) out[name] = Math.round(((now - b) * 10_000) / ops) / 10;
      }
      return out;
    },
  };
}
