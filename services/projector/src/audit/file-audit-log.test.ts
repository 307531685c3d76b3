import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, entry } from './testing.ts';
import { FileAuditLog } from './file-audit-log.ts';

const dirs: string[] = [];
const logs: FileAuditLog[] = [];
const open = (dir: string) => {
  const log = FileAuditLog.open(dir, { key: KEY });
  logs.push(log);
  return log;
};
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'tether-audit-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('file audit log (embedded adapter)', () => {
  it('appends a chain, one JSON line per record, and answers a repeated event id with the first record', async () => {
    const dir = tempDir();
    const log = open(dir);
    const a = await log.append(entry(1));
    const b = await log.append(entry(2));
    expect([a.seq, b.seq, a.prevHash, b.prevHash]).toEqual([1, 2, null, a.hash]);
    expect(await log.append(entry(1, { reason: 'a retry computes this differently' }))).toEqual(a);
    expect(
      readFileSync(join(dir, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([a, b]);
    expect(await log.last()).toEqual(b);
    expect(await log.verify()).toEqual({ ok: true, records: 2 });
  });

  it('shares one instance per folder in a process and keeps other processes out with a lock', async () => {
    const dir = tempDir();
    const log = open(dir);
    expect(FileAuditLog.open(dir, { key: KEY })).toBe(log);
    const other = tempDir();
    writeFileSync(join(other, 'audit.lock'), '1\n'); // pid 1 is alive and not us
    expect(() => FileAuditLog.open(other, { key: KEY })).toThrow(/another process \(pid 1\) writes the audit log/);
    writeFileSync(join(other, 'audit.lock'), '999999999\n'); // a dead owner: stale
    expect(open(other).kind).toBe('file');
  });

  it('continues the chain after a reopen, also after a crash tore the last line', async () => {
    const dir = tempDir();
    const first = FileAuditLog.open(dir, { key: KEY });
    await first.append(entry(1));
    const two = await first.append(entry(2));
    await first.close();
    appendFileSync(join(dir, 'audit.jsonl'), '{"seq":3,"eventId":"evt-3","str'); // killed mid-write
    const again = open(dir);
    expect(await again.last()).toEqual(two);
    const three = await again.append(entry(3));
    expect([three.seq, three.prevHash]).toEqual([3, two.hash]);
    expect(await again.append(entry(2))).toEqual(two); // audited before the restart: still exactly once
    expect(await again.verify()).toEqual({ ok: true, records: 3 });
  });

  it('reads the newest page, pages after a seq, and filters by entity and id', async () => {
    const log = open(tempDir());
    for (let i = 1; i <= 6; i++)
      await log.append(
        entry(i, {
          entity: i % 2 ? 'share' : 'terminal',
          action: i % 2 ? 'share.revoke' : 'terminal.close',
          entityId: `e${i % 3}`,
        }),
      );
    expect((await log.read()).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await log.read({ limit: 2 })).map((r) => r.seq)).toEqual([5, 6]);
    expect((await log.read({ afterSeq: 2, limit: 3 })).map((r) => r.seq)).toEqual([3, 4, 5]);
    expect((await log.read({ entity: 'share' })).map((r) => r.seq)).toEqual([1, 3, 5]);
    expect((await log.read({ entity: 'share', entityId: 'e1' })).map((r) => r.seq)).toEqual([1]);
    expect((await log.read({ entityId: 'e0', afterSeq: 0 })).map((r) => r.seq)).toEqual([3, 6]);
  });

  it('verify names the first record that was edited, removed or damaged in the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'audit.jsonl');
    let log = FileAuditLog.open(dir, { key: KEY });
    for (let i = 1; i <= 4; i++) await log.append(entry(i));
    await log.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');

    writeFileSync(
      file,
      `${[lines[0], lines[1]!.replace('"id":"ann"', '"id":"eve"'), lines[2], lines[3]].join('\n')}\n`,
    );
    log = open(dir);
    expect(await log.verify()).toMatchObject({
      ok: false,
      records: 1,
      brokenAt: 2,
      why: expect.stringMatching(/record 2 was changed/),
    });
    await log.close();

    writeFileSync(file, `${[lines[0], lines[1], lines[3]].join('\n')}\n`);
    log = open(dir);
    expect(await log.verify()).toMatchObject({
      ok: false,
      brokenAt: 3,
      why: 'record 3 is missing (the next record found is 4)',
    });
    // Appends go on (auditing must not stop); the new record still links to the last one written.
    const next = await log.append(entry(5));
    expect(next.seq).toBe(5);
    await log.close();

    writeFileSync(file, `${[lines[0], 'not json', lines[2], lines[3]].join('\n')}\n`);
    log = open(dir);
    expect(await log.verify()).toMatchObject({
      ok: false,
      brokenAt: 2,
      why: expect.stringMatching(/entry 2 is not a valid audit record/),
    });
  });

  it('refuses an entry that is not one', async () => {
    const log = open(tempDir());
    await expect(log.append({ ...entry(1), entityId: 'has spaces' })).rejects.toMatchObject({
      code: 'INVALID_COMMAND',
    });
  });
});
