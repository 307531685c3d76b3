import { processesMarked } from '../terminals/proc-scan.ts';

/**
 * SIGTERM every process whose environment carries name=value, SIGKILL what is left after 3 s. Only
 * the marker is trusted, never a remembered pid (pids are reused quickly here).
 */
export async function stopMarked(name: string, value: string, graceMs = 3_000): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone already */
    }
  };
  if (processesMarked(name, value).length === 0) return;
  for (const pid of processesMarked(name, value)) signal(pid, 'SIGTERM');
  for (let waited = 0; waited < graceMs && processesMarked(name, value).length > 0; waited += 100)
    await new Promise((r) => setTimeout(r, 100));
  for (const pid of processesMarked(name, value)) signal(pid, 'SIGKILL');
  for (let i = 0; i < 20 && processesMarked(name, value).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
}
