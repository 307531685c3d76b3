import { isLiveTerminal } from '@tether/machines';
import { CleanReviewBody, LeaveSafeModeBody, TetherError, Token } from '@tether/contracts';
import {
  checkpointView,
  listActorsOf,
  orphansForReview,
  readActor,
  recoveryRuns,
  recoveryStatus,
  recoveryView,
} from '@tether/projector';
import { commandFrom, parseBody, type RouteDeps, type Routes } from '@tether/runtime';

export interface RecoveryRouteDeps extends RouteDeps {
  /** The installation this tether is: its safe mode, its runs' review lists. */
  installationId: string;
  /** Applies a leave at once on this tether (the reactor on the run's events does so for NATS commands too). */
  safeModeLeft?: () => Promise<void>;
}

/** Crash recovery over HTTP (the same commands as tether.cmd.recovery.*), keyed by operation id. */
export function recoveryRoutes(deps: RecoveryRouteDeps): Routes {
  const { dispatcher, host, store } = deps;

  const run = async (id: string) => {
    const r = Token.safeParse(id);
    if (!r.success)
      throw new TetherError(
        'INVALID_COMMAND',
        `invalid request: "${id.slice(0, 64)}" is not a recovery id: ${r.error.issues[0]?.message}`,
      );
    const a = await readActor(host, 'recovery', r.data);
    if (!a) throw new TetherError('NOT_FOUND', `recovery ${id} does not exist (\`tether recovery status\` lists runs)`);
    return a;
  };

  return {
    'recovery.status': () => recoveryStatus(store, deps.installationId),
    'recovery.list': async () => ({ items: (await recoveryRuns(store)).map(recoveryView) }),
    'recovery.get': async (req) => recoveryView(await run(req.params.recovery!)),
    'recovery.review': async () => ({ items: await orphansForReview(store, deps.installationId) }),

    'recovery.cleanReview': async (req) => {
      const body = parseBody(CleanReviewBody, req.body);
      const id = (await run(req.params.recovery!)).entityId;
      const accepted = await dispatcher.accept(commandFrom(req, 'recovery', 'cleanReview', id, body));
      // Answers once the cleanup is reported (its event follows the command's), or with where it is after a while.
      const until = Date.now() + (deps.settleMs ?? 15_000);
      for (;;) {
        const now = await run(id);
        if (now.version > accepted.seq || Date.now() > until) return recoveryView(now);
        await new Promise((r) => setTimeout(r, 50));
      }
    },

    'recovery.dismiss': async (req) => {
      const id = (await run(req.params.recovery!)).entityId;
      await dispatcher.accept(commandFrom(req, 'recovery', 'dismiss', id, {}));
      return recoveryView(await run(id));
    },

    'recovery.leaveSafeMode': async (req) => {
      const body = parseBody(LeaveSafeModeBody, req.body);
      const safe = (await recoveryStatus(store, deps.installationId)).safe_mode;
      if (!safe)
        throw new TetherError('NOT_ALLOWED', 'tether is not in safe mode; there is nothing to leave', {
          reason: 'NOT_IN_SAFE_MODE',
        });
      await dispatcher.accept(commandFrom(req, 'recovery', 'leaveSafeMode', safe.recovery_id, body));
      await deps.safeModeLeft?.();
      return recoveryStatus(store, deps.installationId, await run(safe.recovery_id));
    },

    'checkpoints.list': async () => ({
      items: (await listActorsOf(store, 'terminal', (t) => isLiveTerminal(t.value))).map(checkpointView),
    }),
  };
}
