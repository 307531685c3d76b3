import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShareEndDetails, type Actor, type Command } from '@tether/contracts';
import { registry } from '@tether/machines';
import { ActorHost, EmbeddedEventStore } from '@tether/runtime';
import { AuditProjector } from './audit-projector.ts';
import { FileAuditLog } from './file-audit-log.ts';
import { KEY } from './testing.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A real embedded store and file trail in a temp folder, with a clock the test moves. */
async function rig() {
  const dir = mkdtempSync(join(tmpdir(), 'tether-audit-projector-'));
  const store = await EmbeddedEventStore.open(join(dir, 'store'));
  const log = FileAuditLog.open(join(dir, 'audit'), { key: KEY });
  closers.push(async () => {
    await log.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let now = T0;
  const host = new ActorHost({ store, registry, clock: { now: () => new Date(now) } });
  let n = 0;
  const run = (verb: string, data: Record<string, unknown>, actor: Actor, atMs: number) => {
    now = T0 + atMs;
    const id = `c${++n}`;
    const cmd: Command = {
      id,
      entity: 'share',
      verb,
      entityId: 's1',
      data,
      actor,
      correlationId: `corr-${id}`,
      causationId: id,
    };
    return host.execute(cmd);
  };
  return { dir, store, log, run };
}

const alice: Actor = { kind: 'human', id: 'alice' };
const request = (backend: string, effect = 'allow') => ({
  terminalId: 't1',
  laneId: 'l1',
  backend,
  access: 'read',
  ttlMs: 60_000,
  maxTtlMs: 3_600_000,
  warnBeforeMs: 10_000,
  policy: { effect, ruleId: effect === 'deny' ? null : 'people', reason: 'rule says so' },
});

describe('audit projector details', () => {
  it('an expired tmate share: ended by the timer after its whole run, viewers unknown; the same when the projector starts cold', async () => {
    const { dir, store, log, run } = await rig();
    await run('request', request('tmate'), alice, 0);
    await run('started', { workerPid: 42 }, { kind: 'system', id: 'worker:share_runner' }, 2_000);
    await run('expire', {}, { kind: 'system', id: 'timer' }, 60_000);
    const events = await store.readEntity('share', 's1');

    const warm = new AuditProjector(store, log, { entities: ['share'] });
    for (const e of events) await warm.handle(e);
    const records = await log.read({ afterSeq: 0 });
    expect(records.map((r) => r.originCorrelationId)).toEqual(['corr-c1', 'corr-c1', 'corr-c1']);
    const expected = {
      endReason: 'expired',
      endDetail: 'the share reached its expiry time',
      endedBy: 'system:timer',
      startedAt: new Date(T0 + 2_000).toISOString(),
      durationMs: 58_000,
      viewersDisconnected: null,
    };
    expect(ShareEndDetails.parse(records[2]!.details)).toEqual(expected);

    // Another projector that never saw the earlier events (a restart) folds them from the event log.
    const coldLog = FileAuditLog.open(join(dir, 'audit-cold'), { key: KEY });
    closers.push(() => coldLog.close());
    const cold = await new AuditProjector(store, coldLog, { entities: ['share'] }).handle(events[2]!);
    const { seq: _s, prevHash: _p, hash: _h, ...content } = records[2]!;
    expect(cold).toMatchObject(content);
  });

  it('a share the policy denies ends at its request: no start, no duration, nobody cut off', async () => {
    const { log, store, run } = await rig();
    await run('request', request('native', 'deny'), alice, 0);
    const projector = new AuditProjector(store, log, { entities: ['share'] });
    for (const e of await store.readEntity('share', 's1')) await projector.handle(e);
    const [record] = await log.read({ afterSeq: 0 });
    expect(ShareEndDetails.parse(record!.details)).toEqual({
      endReason: 'denied',
      endDetail: 'rule says so',
      endedBy: 'policy',
      startedAt: null,
      durationMs: 0,
      viewersDisconnected: 0,
    });
  });
});
