import type { Command } from '@tether/contracts';
import { uid } from './fixtures.ts';

/** What executes a command inside a tether (an in-process server's actor host). */
interface Host {
  execute(cmd: Command): Promise<unknown>;
}

/**
 * A recovery run written the way tether's recovery writes it, as the system actor, step by step: for
 * the surfaces that show runs (API, CLI, dashboard) without crashing a tether first. `cp.server` is read
 * at each step (an in-process server starts in a beforeAll).
 */
export function recoverySteps(cp: { server: { host: Host; installationId: string } }) {
  const step = (verb: string, id: string, data: Record<string, unknown> = {}) => {
    const cmdId = uid('cmd');
    return cp.server.host.execute({
      id: cmdId,
      entity: 'recovery',
      verb,
      entityId: id,
      data,
      actor: { kind: 'system', id: 'tether' },
      correlationId: cmdId,
      causationId: cmdId,
    });
  };
  /** A run up to RESTORING, with one of its two terminals (t-back, t-lost) back. */
  const begin = async (id: string, opts: { safeMode?: boolean } = {}) => {
    await step('start', id, {
      installationId: cp.server.installationId,
      instanceId: 'inst-new',
      crashes: [sampleCrash],
      safeMode: opts.safeMode ? { reason: '3 crashes within 60 s', crashes: 3 } : null,
    });
    await step('detected', id, { tmuxAlive: false, sessions: 0 });
    await step('inventoried', id, {
      terminals: [
        { terminalId: 't-back', laneId: 'lane-1', plan: 'respawn', checkpointAt: '2026-01-01T00:00:05.000Z' },
        { terminalId: 't-lost', laneId: 'lane-1', plan: 'respawn', checkpointAt: null },
      ],
    });
    await step('terminalRestored', id, { terminalId: 't-back', how: 'respawn' });
  };
  /** The rest, LIVE_WITH_ISSUES: t-lost lost, lanes checked, one orphan ended and `needsReview` listed. */
  const finish = async (id: string, o: { needsReview: object[]; missingLanes?: string[] }) => {
    await step('terminalFailed', id, { terminalId: 't-lost', reason: 'cwd_missing: /gone does not exist any more' });
    await step('lanesChecked', id, { present: 1, missing: o.missingLanes ?? [] });
    await step('restored', id, { durationMs: 120 });
    await step('reconciled', id, {
      totalFound: 1 + o.needsReview.length,
      safeToTerminate: [{ id: 'process:777:1', kind: 'process', ref: '777', reason: 'terminal t0 is closed' }],
      needsReview: o.needsReview,
      cleanup: { terminated: 1, removed: 0, reviewPending: o.needsReview.length, failed: [] },
      durationMs: 30,
    });
  };
  return {
    step,
    begin,
    finish,
    /** A whole run that ends LIVE_WITH_ISSUES, with one orphan for review. */
    async issues(id: string, opts: { safeMode?: boolean } = {}) {
      await begin(id, opts);
      await finish(id, {
        needsReview: [
          { id: 'file:/nonexistent/x.tmp', kind: 'tempFile', ref: '/nonexistent/x.tmp', reason: 'review me' },
        ],
      });
    },
  };
}

export const sampleCrash = {
  instanceId: 'inst-old',
  pid: 4242,
  startedAt: '2026-01-01T00:00:00.000Z',
  lastHeartbeatAt: '2026-01-01T00:00:10.000Z',
  crashedAt: '2026-01-01T00:00:12.000Z',
  exit: { pid: 4242, code: null, signal: 'SIGKILL', reason: 'exited', at: '2026-01-01T00:00:12.000Z' },
};
