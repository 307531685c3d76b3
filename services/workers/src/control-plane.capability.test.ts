import { parseConfig } from '@tether/contracts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '@tether/machines';
import { ActorHost, Dispatcher, EmbeddedEventStore, silentLogger } from '@tether/runtime';
import { startControlPlane, type ControlPlane } from './control-plane.capability.ts';

let home: string;
let store: EmbeddedEventStore;
let host: ActorHost;
let cp: ControlPlane;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'tether-cp-capability-'));
  store = await EmbeddedEventStore.open(join(home, 'store'));
  host = new ActorHost({ store, registry });
  const dispatcher = new Dispatcher(host);
  cp = await startControlPlane({
    host,
    dispatcher,
    send: (cmd) => dispatcher.dispatch(cmd),
    store,
    logger: silentLogger,
    home,
    ownerId: 'test',
    config: parseConfig({ TETHER_WORKSPACES: `ws1=${home}` }).config,
    baseUrl: () => 'http://127.0.0.1:1',
  });
});

afterAll(async () => {
  await cp.stop();
  await store.close();
  rmSync(home, { recursive: true, force: true });
});

const laneCreate = (workspaceId: string) => ({
  id: 'c1',
  entity: 'lane',
  verb: 'create',
  entityId: 'l1',
  data: { workspaceId },
  actor: { kind: 'human' as const, id: 'ann' },
  correlationId: 'c1',
  causationId: 'c1',
});

describe('startControlPlane', () => {
  it('serves the lanes, sessions, terminals and harness operations', () => {
    expect(Object.keys(cp.routes).sort()).toEqual(
      [
        'lanes.create',
        'lanes.list',
        'lanes.get',
        'lanes.attach',
        'lanes.cleanup',
        'sessions.ensure',
        'sessions.list',
        'terminals.spawn',
        'terminals.list',
        'harness.status',
        'harness.check',
      ].sort(),
    );
    expect(Object.keys(cp.commands)).toEqual(['session.ensure']);
  });

  it('gates lane.create on a configured workspace', async () => {
    const gate = cp.preconditions['lane.create']!;
    await expect(gate(laneCreate('ws1'), host)).resolves.toBeUndefined();
    await expect(gate(laneCreate('nope'), host)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('tells other capabilities where tmux runs the terminals', () => {
    expect(cp.terminals.tmuxSocket).toBe(join(home, 'terminals', 'tmux.sock'));
  });
});
