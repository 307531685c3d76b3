import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { ACTORS_BUCKET } from '@tether/contracts';
import {
  approvalMachine,
  codexSessionMachine,
  handoffMachine,
  harnessMachine,
  laneMachine,
  registry,
  sessionMachine,
  shareMachine,
  terminalMachine,
} from '@tether/machines';
import { ActorHost, type ProjectedDoc, type SavedActor } from '@tether/runtime';
import { ProjectionRunner, actorsProjection } from '@tether/projector';
import { cmd, eventually, uid, useNats } from '../harness/index.ts';

// Model-based: every shortest path of each machine is driven through the real actor host and
// JetStream, and after each path the read model must show the state the model predicts.

const ctx = useNats();
let host: ActorHost;
let runner: ProjectionRunner<SavedActor>;
beforeAll(async () => {
  // A clock that moves an hour per command: every deadline and cooldown a path needs has passed.
  let now = Date.parse('2026-01-01T00:00:00Z');
  host = new ActorHost({
    store: ctx.store,
    registry,
    clock: {
      now: () => {
        now += 3_600_000;
        return new Date(now);
      },
    },
  });
  runner = new ProjectionRunner(ctx.store, actorsProjection(registry));
  await runner.start();
});
afterAll(() => runner?.stop());

/** An event of the model; the actor is human:ann unless it says (a handoff's receiver accepts as itself). */
type Ev = { type: string; data: Record<string, unknown>; actor?: { kind: string; id: string } };
const models: [string, AnyStateMachine, Ev[], string[]?][] = [
  [
    'lane',
    laneMachine,
    [
      { type: 'create', data: { workspaceId: 'ws', projectContextId: 'p', displayName: 'model' } },
      { type: 'provisioned', data: { worktreePath: '/w/x', branch: 'tether/x' } },
      { type: 'provisionFailed', data: { reason: 'no repo' } },
      { type: 'attach', data: {} },
      { type: 'detach', data: {} },
      { type: 'block', data: { reason: 'waiting' } },
      { type: 'unblock', data: {} },
      { type: 'bindSession', data: { sessionId: 's1', codexSessionId: 'c1' } },
      { type: 'unbindSession', data: { sessionId: 's1' } },
      { type: 'share', data: { shareId: 'sh1' } },
      { type: 'unshare', data: {} },
      { type: 'cleanup', data: {} },
      { type: 'cleaned', data: {} },
      { type: 'cleanupFailed', data: { reason: 'busy' } },
      { type: 'worktreeMissing', data: { worktreePath: '/w/x' } },
    ],
  ],
  [
    'session',
    sessionMachine,
    [
      {
        type: 'create',
        data: {
          laneId: 'l1',
          codexSessionId: 'c1',
          provider: 'codex',
          transport: 'cliproxy_harness',
          heartbeatTimeoutMs: 60_000,
        },
      },
      { type: 'attached', data: {} },
      { type: 'heartbeat', data: {} },
      { type: 'heartbeatMissed', data: {} },
      { type: 'detach', data: {} },
      { type: 'attach', data: { transport: 'native_openai', degradeReason: 'harness down' } },
      { type: 'terminate', data: { reason: 'done' } },
    ],
  ],
  [
    'terminal',
    terminalMachine,
    [
      { type: 'spawn', data: { laneId: 'l1', sessionId: 's1', title: 'sh' } },
      { type: 'started', data: { tmuxSession: 't', panePid: 4242 } },
      { type: 'spawnFailed', data: { reason: 'no cwd' } },
      { type: 'throttle', data: { bytesPerSec: 5_000_000 } },
      { type: 'unthrottle', data: {} },
      { type: 'close', data: {} },
      { type: 'exited', data: { code: 0, signal: null } },
      { type: 'shareOpen', data: { shareId: 'sh1', limit: 3 } },
      { type: 'shareClose', data: { shareId: 'sh1' } },
      { type: 'handoffClaim', data: { handoffId: 'h1' } },
      { type: 'handoffRelease', data: { handoffId: 'h1' } },
      { type: 'handover', data: { handoffId: 'h1', fromSessionId: 's1', toSessionId: 's2' } },
      { type: 'cwdChanged', data: { cwd: '/w/l1/src' } },
      { type: 'checkpointed', data: { key: 't1/ab', digest: 'a'.repeat(64), bytes: 120, scrollbackBytes: 64 } },
      {
        type: 'respawned',
        data: { reason: 'tmux gone', tmuxSession: 't1', panePid: 4343, restoredFrom: null, recoveryId: 'r1' },
      },
      { type: 'lost', data: { reason: 'cwd_missing: /gone', recoveryId: 'r1' } },
    ],
  ],
  [
    'share',
    shareMachine,
    [
      ...(['allow', 'approval', 'deny'] as const).map((effect) => ({
        type: 'request',
        data: {
          terminalId: 't1',
          laneId: 'l1',
          backend: 'native',
          access: 'write',
          ttlMs: 7 * 86_400_000,
          maxTtlMs: 7 * 86_400_000,
          warnBeforeMs: 60_000,
          policy: { effect, ruleId: 'r1', reason: effect },
        },
      })),
      { type: 'approved', data: { approvalId: 'a1', by: 'human:ops' } },
      { type: 'rejected', data: { approvalId: 'a1', reason: 'no' } },
      { type: 'started', data: {} },
      { type: 'failed', data: { reason: 'worker died' } },
      { type: 'warn', data: {} },
      { type: 'expire', data: {} },
      { type: 'extend', data: { ttlMs: 60_000 } },
      { type: 'revoke', data: { reason: 'done' } },
      { type: 'terminate', data: { reason: 'terminal closed' } },
      { type: 'switch', data: { toShareId: 'sh2' } },
      { type: 'invite', data: { participantId: 'p1', name: 'bob', tokenHash: 'a'.repeat(64) } },
      { type: 'joined', data: { participantId: 'p1', via: 'browser' } },
      { type: 'left', data: { participantId: 'p1', reason: 'closed' } },
      { type: 'kick', data: { participantId: 'p1' } },
      { type: 'grantWrite', data: { participantId: 'p1', ttlMs: 60_000 } },
      { type: 'revokeWrite', data: { participantId: 'p1' } },
      { type: 'writeExpired', data: {} },
    ],
    // Reached only when time passes (warn, expire); covered by the machine and sharing tests.
    ['expiring'],
  ],
  [
    'approval',
    approvalMachine,
    [
      {
        type: 'request',
        data: {
          shareId: 'sh1',
          requestedBy: { kind: 'ai', id: 'codex' },
          ruleId: 'r1',
          reason: 'agents ask',
          timeoutMs: 600_000,
        },
      },
      { type: 'approve', data: { note: 'ok' } },
      { type: 'deny', data: { reason: 'no' } },
      { type: 'expire', data: {} },
    ],
    ['expired'],
  ],
  [
    'handoff',
    handoffMachine,
    [
      ...(['allow', 'approval', 'deny'] as const).map((effect) => ({
        type: 'request',
        data: {
          terminalId: 't1',
          laneId: 'l1',
          to: { kind: 'ai', id: 'codex' },
          fromSessionId: 's1',
          toSessionId: 's2',
          policy: { effect, ruleId: 'r1', reason: effect },
          offerTtlMs: 600_000,
          correlationId: 'c1',
        },
      })),
      { type: 'approved', data: { approvalId: 'h1', by: 'human:ops' } },
      { type: 'denied', data: { approvalId: 'h1', reason: 'no' } },
      {
        type: 'initiated',
        data: {
          context: {
            cwd: '/w/l1',
            env: { names: ['HOME'], sealedRef: 'handoffs/h1.env.sealed' },
            scrollback: { ref: 'handoffs/h1.scrollback', offset: 0, bytes: 0, sha256: 'a'.repeat(64) },
            git: {
              branch: 'tether/l1',
              base: 'main',
              ahead: 0,
              behind: 0,
              staged: 0,
              unstaged: 0,
              untracked: 0,
              conflicted: 0,
            },
            correlationId: 'c1',
            capturedAt: '2026-01-01T00:00:00.000Z',
          },
        },
      },
      { type: 'accept', data: {}, actor: { kind: 'ai', id: 'codex' } },
      { type: 'completed', data: { terminalId: 't1', fromSessionId: 's1', toSessionId: 's2' } },
      { type: 'cancel', data: { reason: 'not now' } },
      { type: 'expire', data: {} },
      { type: 'failed', data: { reason: 'terminal closed' } },
    ],
  ],
  [
    'harness',
    harnessMachine,
    [
      { type: 'configure', data: { url: 'http://127.0.0.1:1', cooldownMs: 1_000 } },
      { type: 'reconfigure', data: { url: null, cooldownMs: 1_000 } },
      { type: 'status.changed', data: { status: 'healthy' } },
      { type: 'status.changed', data: { status: 'degraded', reason: 'slow' } },
      { type: 'status.changed', data: { status: 'unavailable', reason: 'gone' } },
    ],
  ],
  [
    'codexSession',
    codexSessionMachine,
    [
      { type: 'claim', data: { laneId: 'l1', sessionId: 's1' } },
      { type: 'release', data: { sessionId: 's1' } },
    ],
  ],
];

async function readModel(entity: string, id: string) {
  return (await (await ctx.store.kv(ACTORS_BUCKET)).get<ProjectedDoc<SavedActor>>(`${entity}.${id}`))?.value.value;
}

describe.each(models)('model-based paths: %s', (entity, machine, events, timeOnly = []) => {
  // The model's events carry one fixed time: paths then only use transitions that need no time to pass.
  // The model acts as the host's commands do (fixtures' cmd(): human:ann), so guards on who decide alike.
  const timed = events.map((e) => ({
    ...e,
    at: '2026-01-01T00:00:00.000Z',
    actor: e.actor ?? { kind: 'human', id: 'ann' },
  }));
  const model = createTestModel(machine, {
    events: timed as never,
    serializeState: (s) => JSON.stringify((s as AnyMachineSnapshot).value),
  });
  const paths = model.getShortestPaths();

  it('models every event the machine accepts', () => {
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      [...machine.events].filter((t) => !t.startsWith('xstate.')).sort(),
    );
  });

  it(`has paths to every state (${paths.length})`, () => {
    const states = new Set(paths.flatMap((p) => p.steps.map((s) => JSON.stringify(s.state.value))));
    const declared = Object.keys(machine.root.states)
      .filter((s) => !timeOnly.includes(s))
      .map((s) => JSON.stringify(s));
    expect([...states].sort()).toEqual(declared.sort());
  });

  it.each(
    paths.map(
      (p) =>
        [
          p.steps
            .map((s) => s.event.type)
            .filter((t) => t !== 'xstate.init')
            .join(' → ') || '(initial)',
          p,
        ] as const,
    ),
  )('%s', async (_name, path) => {
    const id = uid(entity);
    let version = 0;
    for (const step of path.steps) {
      if (step.event.type === 'xstate.init') continue;
      const e = step.event as Ev;
      const reply = await host.execute({ ...cmd(entity, e.type, id, e.data), actor: e.actor as never });
      version++;
      expect(reply).toMatchObject({ seq: version, state: step.state.value });
    }
    if (version === 0) return;
    const doc = await eventually(
      () => readModel(entity, id),
      (d) => d?.version === version,
    );
    expect(doc!.value).toEqual(path.state.value);
    expect(doc!.context).toEqual((await host.state(entity, id))!.context);
  });
});
