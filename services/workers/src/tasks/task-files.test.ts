import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskFiles } from './task-files.ts';

const AT = '2026-01-01T10:11:12.000Z';
const msg = (seq: number, message = `m${seq}`) => ({ ts: AT, actor: 'human:ops', message, task_run_id: 'tr-1', seq });
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('a task run folder', () => {
  it('is private: the folder 0700, the inbox and the log 0600; a running control file to start with', () => {
    const f = new TaskFiles(mkdtempSync(join(tmpdir(), 'tether-task-files-')), 'tr-1');
    f.prepare(AT);
    expect(statSync(f.dir).mode & 0o777).toBe(0o700);
    expect(statSync(f.inbox).mode & 0o777).toBe(0o600);
    expect(statSync(f.log).mode & 0o777).toBe(0o600);
    expect(f.readControl()).toEqual({ state: 'running', mode: null, seq: 0, reason: null, by: null, at: AT });
  });

  it('appends each message once by its seq (a redelivered event appends nothing), after a line a crash cut short', () => {
    const f = new TaskFiles(mkdtempSync(join(tmpdir(), 'tether-task-files-')), 'tr-1');
    f.prepare(AT);
    expect(f.appendMessage(msg(3))).toBe(true);
    expect(f.appendMessage(msg(3))).toBe(false);
    appendFileSync(f.inbox, '{"ts":"cut sho'); // a crash mid-line
    expect(f.appendMessage(msg(5, 'after the cut'))).toBe(true);
    expect(lines(f.inbox).map((l) => l.slice(0, 12))).toEqual(['{"ts":"2026-', '{"ts":"cut s', '{"ts":"2026-']);
    expect(JSON.parse(lines(f.inbox)[2]!)).toEqual(msg(5, 'after the cut'));
  });

  it("reads the agent's ack and exit status; the control file is replaced whole", () => {
    const f = new TaskFiles(mkdtempSync(join(tmpdir(), 'tether-task-files-')), 'tr-1');
    f.prepare(AT);
    expect(f.ackedSeq()).toBeUndefined();
    writeFileSync(f.ack, '{"seq":4}');
    expect(f.ackedSeq()).toBe(4);
    f.writeControl({ state: 'paused', mode: 'soft', seq: 4, reason: 'look', by: 'human:ops', at: AT });
    expect(f.readControl()).toMatchObject({ state: 'paused', seq: 4 });
    expect(statSync(f.control).mode & 0o777).toBe(0o600);
    expect(f.exitStatus()).toBeUndefined();
    writeFileSync(f.status, '143');
    expect(f.exitStatus()).toBe(143);
  });
});
