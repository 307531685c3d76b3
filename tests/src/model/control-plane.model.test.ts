import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { ACTORS_BUCKET } from '@tether/contracts';
import { codexSessionMachine, harnessMachine, laneMachine, registry, sessionMachine, terminalMachine } from '@tether/machines';
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
  host = new ActorHost({ store: ctx.store, registry, clock: { now: () => new Date((now += 3_600_000)) } });
  runner = new ProjectionRunner(ctx.store, actorsProjection(registry));
  await runner.start();
});
afterAll(() => runner?.stop());

type Ev = { type: string; data: Record<string, unknown> };
const models: [string, AnyStateMachine, Ev[]][] = [
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
      { type: 'create', data: { laneId: 'l1', codexSessionId: 'c1', provider: 'codex', transport: 'cliproxy_harness', heartbeatTimeoutMs: 60_000 } },
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

describe.each(models)('model-based paths: %s', (entity, machine, events) => {
  // The model's events carry one fixed time: paths then only use transitions that need no time to pass.
  const timed = events.map((e) => ({ ...e, at: '2026-01-01T00:00:00.000Z', actor: { kind: 'system', id: 'model' } }));
  const model = createTestModel(machine, { events: timed as never, serializeState: (s) => JSON.stringify((s as AnyMachineSnapshot).value) });
  const paths = model.getShortestPaths();

  it('models every event the machine accepts', () => {
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual([...machine.events].filter((t) => !t.startsWith('xstate.')).sort());
  });

  it(`has paths to every state (${paths.length})`, () => {
    const states = new Set(paths.flatMap((p) => p.steps.map((s) => JSON.stringify(s.state.value))));
    const declared = Object.keys(machine.root.states).map((s) => JSON.stringify(s));
    expect([...states].sort()).toEqual(declared.sort());
  });

  it.each(paths.map((p) => [p.steps.map((s) => s.event.type).filter((t) => t !== 'xstate.init').join(' → ') || '(initial)', p] as const))('%s', async (_name, path) => {
    const id = uid(entity);
    let version = 0;
    for (const step of path.steps) {
      if (step.event.type === 'xstate.init') continue;
      const e = step.event as Ev;
      const reply = await host.execute(cmd(entity, e.type, id, e.data));
      version++;
      expect(reply).toMatchObject({ seq: version, state: step.state.value });
    }
    if (version === 0) return;
    const doc = await eventually(() => readModel(entity, id), (d) => d?.version === version);
    expect(doc!.value).toEqual(path.state.value);
    expect(doc!.context).toEqual((await host.state(entity, id))!.context);
  });
});
