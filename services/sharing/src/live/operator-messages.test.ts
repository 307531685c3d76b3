import { describe, expect, it } from 'vitest';
import type { EventEnvelope, StoredEvent } from '@tether/contracts';
import { operatorMessagesOf } from './task-run.routes.ts';

const event = (seq: number, type: string, data: Record<string, unknown>, id = 'ops'): StoredEvent => ({
  streamSeq: seq * 10,
  subject: 'tether.evt.taskRun.tr-1',
  event: {
    id: `c${seq}`,
    type,
    entity: 'taskRun',
    entityId: 'tr-1',
    seq,
    at: `2026-01-01T00:00:0${seq}.000Z`,
    correlationId: 'k',
    causationId: 'k',
    actor: { kind: 'human', id },
    data,
    state: 'running',
    v: 1,
  } as EventEnvelope,
});

describe('operator messages of a run', () => {
  it("are its message events and its releases' summaries, in order, counted as the run counts them", () => {
    const items = operatorMessagesOf('tr-1', [
      event(1, 'taskRun.queue', {}),
      event(2, 'taskRun.message', { message: 'rebase first' }),
      event(3, 'taskRun.takeover', { mode: 'hard' }),
      event(4, 'taskRun.release', { summary: 'rebased by hand' }, 'carol'),
      event(5, 'taskRun.exited', { code: 0, signal: null }),
    ]);
    expect(items).toEqual([
      { ts: '2026-01-01T00:00:02.000Z', actor: 'human:ops', message: 'rebase first', task_run_id: 'tr-1', seq: 1 },
      { ts: '2026-01-01T00:00:04.000Z', actor: 'human:carol', message: 'rebased by hand', task_run_id: 'tr-1', seq: 2 },
    ]);
  });
});
