import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TetherError } from '@tether/contracts/tether-error';
import { dataDir } from '../data-dir.ts';
import { localNatsPids, stopLocalNats } from '../local-nats.ts';
import { isTether, runFile, runningSupervisor, runningTether, supervisorFile } from '../run-state.ts';
import type { Out } from '../output.ts';

/** How long a tether has to stop after SIGTERM (it stops its own nats-server too); it needs well under 2 s. */
const STOP_WAIT_MS = 15_000;

/**
 * `tether down`: stops the tether running on this data folder (TETHER_HOME) and the nats-server it started.
 * A supervised one is stopped through its supervisor, which passes the signal on and restarts nothing.
 */
export async function down(out: Out): Promise<number> {
  const home = dataDir();
  const run = runningTether(home);
  const supervisor = runningSupervisor(home);
  if (!run && !supervisor) {
    // No tether, but maybe the nats-server (and run and supervisor files) of one that was SIGKILLed.
    rmSync(runFile(home), { force: true });
    rmSync(supervisorFile(home), { force: true });
    const left = await stopLocalNats(home);
    if (left.length === 0)
      throw new TetherError(
        'NOT_FOUND',
        `no tether runs on data folder ${home} (no live process in ${runFile(home)}); nothing to stop. Is TETHER_HOME the folder \`tether up\` used?`,
      );
    out.print(`no tether was running on ${home}; stopped the nats-server it left behind (pid ${left.join(', ')})`, {
      ok: true,
      pid: null,
      natsPids: left,
    });
    return 0;
  }
  const nats = localNatsPids(home);
  const started = Date.now();
  const target = (supervisor ?? run)!.pid;
  try {
    process.kill(target, 'SIGTERM');
  } catch (err) {
    throw new TetherError(
      'NOT_ALLOWED',
      `cannot signal tether (pid ${target}): ${(err as NodeJS.ErrnoException).code}; run \`tether down\` as the user that started it`,
    );
  }
  // The supervisor ends after its server; the server (its pid from before the signal) is waited for too.
  const pids = [target, ...(run && run.pid !== target ? [run.pid] : [])];
  while (pids.some(isTether)) {
    if (Date.now() - started > STOP_WAIT_MS) {
      const left = pids.filter(isTether).join(' ');
      throw new TetherError(
        'UNAVAILABLE',
        `tether (pid ${left}) did not stop within ${STOP_WAIT_MS / 1000} s of SIGTERM; see its log, or end it with \`kill -9 ${left}\` and run \`tether down\` again for its nats-server`,
      );
    }
    await sleep(25);
  }
  await stopLocalNats(home); // tether stopped its nats-server itself; this only catches one it could not
  const ms = Date.now() - started;
  const pid = run?.pid ?? null; // null: the supervisor was between two servers
  const who = [...(pid ? [`pid ${pid}`] : []), ...(supervisor ? [`supervisor pid ${supervisor.pid}`] : [])].join(', ');
  out.print(
    `tether (${who}) stopped in ${ms} ms${nats.length ? `, and its nats-server (pid ${nats.join(', ')})` : ''}`,
    {
      ok: true,
      pid,
      supervisorPid: supervisor?.pid ?? null,
      ms,
      natsPids: nats,
    },
  );
  return 0;
}
