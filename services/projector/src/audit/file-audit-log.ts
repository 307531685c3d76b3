import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuditEntry, AuditRecord, TetherError, invalid } from '@tether/contracts';
import { acquireLockFile, appendJsonLine, silentLogger, type Logger } from '@tether/runtime';
import type { AuditLog, AuditReadOptions } from './audit-log.ts';
import { sealRecord, verifyChain, type ChainVerdict } from './audit-record.ts';
import { DEFAULT_AUDIT_READ_LIMIT, matchesRead } from './read-filter.ts';

/**
 * The audit trail of the embedded store: dir/audit.jsonl, one record a line, appended with one
 * synchronous write each (a returned append survives a kill -9 of the process; no fsync, so not a
 * power cut). Single writer: dir/audit.lock keeps other processes out, and inside the process every
 * opener of a folder shares one instance whose appends run synchronously, so the chain cannot fork.
 * The whole trail is kept in memory: this adapter is for one machine's first run, not for scale.
 */
export class FileAuditLog implements AuditLog {
  readonly kind = 'file' as const;
  private static readonly instances = new Map<string, FileAuditLog>();
  /** Every line as parsed (position = index + 1); a line that is not a record stays as it was, for verify. */
  private readonly lines: unknown[] = [];
  private readonly records: AuditRecord[] = [];
  /** All audited event ids: an event is audited once, whenever it comes back. */
  private readonly byEvent = new Map<string, AuditRecord>();
  private fd: number | undefined;
  private size = 0;

  private constructor(
    readonly path: string,
    private readonly key: Buffer,
    private readonly releaseLock: () => void,
    private readonly logger: Logger,
  ) {}

  /** Opens (or joins, inside this process) the trail in `dir`; `key` keys the hash chain. */
  static open(dir: string, opts: { key: Buffer; logger?: Logger }): FileAuditLog {
    const path = resolve(dir, 'audit.jsonl');
    const open = FileAuditLog.instances.get(path);
    if (open) return open;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const release = acquireLockFile(
      join(dir, 'audit.lock'),
      (pid) => `another process (pid ${pid}) writes the audit log in ${dir}; one tether process per data folder`,
    );
    try {
      const log = new FileAuditLog(path, opts.key, release, opts.logger ?? silentLogger);
      log.load();
      FileAuditLog.instances.set(path, log);
      return log;
    } catch (err) {
      release();
      throw err;
    }
  }

  async append(entry: AuditEntry): Promise<AuditRecord> {
    const parsed = AuditEntry.safeParse(entry);
    if (!parsed.success) throw invalid('audit entry', parsed.error);
    if (this.fd === undefined) throw new TetherError('UNAVAILABLE', `the audit log ${this.path} is closed`);
    const done = this.byEvent.get(entry.eventId);
    if (done) return done;
    const last = this.records.at(-1);
    const record = sealRecord(
      parsed.data,
      Math.max(this.lines.length, last?.seq ?? 0) + 1,
      last?.hash ?? null,
      this.key,
    );
    this.size = appendJsonLine(this.fd, this.size, this.path, record);
    this.remember(record, record);
    return record;
  }

  async read(opts: AuditReadOptions = {}): Promise<AuditRecord[]> {
    const limit = opts.limit ?? DEFAULT_AUDIT_READ_LIMIT;
    const after = opts.afterSeq;
    if (after === undefined) return this.records.filter((r) => matchesRead(r, opts)).slice(-limit);
    const out: AuditRecord[] = [];
    for (const r of this.records) {
      if (r.seq <= after || !matchesRead(r, opts)) continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }

  async last(): Promise<AuditRecord | undefined> {
    return this.records.at(-1);
  }

  async verify(): Promise<ChainVerdict> {
    return verifyChain(this.lines, this.key);
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (FileAuditLog.instances.get(this.path) === this) FileAuditLog.instances.delete(this.path);
    this.releaseLock();
  }

  /** Reads the file; a torn last line (a crash mid-write) is cut away: its event was never acknowledged. */
  private load(): void {
    let buf: Buffer;
    try {
      buf = readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      buf = Buffer.alloc(0);
    }
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; start = nl + 1, nl = buf.indexOf(10, start)) {
      const text = buf.toString('utf8', start, nl);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        value = text; // damaged in place: kept, so verify reports it and the seq numbering holds
      }
      const r = AuditRecord.safeParse(value);
      this.remember(value, r.success ? r.data : undefined);
    }
    this.fd = openSync(this.path, 'a', 0o600);
    if (start < buf.length) {
      this.logger.warn(
        { file: this.path, bytes: buf.length - start },
        'cutting away a torn last audit line left by a crash',
      );
      ftruncateSync(this.fd, start);
    }
    this.size = start;
  }

  private remember(line: unknown, record: AuditRecord | undefined): void {
    this.lines.push(line);
    if (!record) return;
    this.records.push(record);
    if (!this.byEvent.has(record.eventId)) this.byEvent.set(record.eventId, record);
  }
}
