import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { subjects, type StoredEvent } from '@tether/contracts';
import { isLiveTerminal, type TerminalContext } from '@tether/machines';
import { listActorsOf, readActor, type ActorOf } from '@tether/projector';
import {
  KvRevisionError,
  privateDir,
  type ActorHost,
  type EventStore,
  type KvBucket,
  type Logger,
  type Subscription,
  type TerminalAccess,
} from '@tether/runtime';
import { CastEncoder, cutNotice, parseCast } from './asciicast.ts';
import { sweepRecordings, type RecordingStore } from './recording-store.ts';

/** The KV bucket saying which tether records which terminal: key terminal id, value a Claim. */
export const CLAIM_BUCKET = 'tether_recording_claims';

interface Claim {
  /** The installation (data folder) recording it: stable across restarts, so a restart resumes its own. */
  holder: string;
  /** Renewed at every flush; a claim not renewed for claimStaleMs is taken over by another tether. */
  at: number;
}

export interface RecorderOptions {
  store: EventStore;
  host: ActorHost;
  terminals: TerminalAccess;
  recordings: RecordingStore;
  log: Logger;
  /** This tether's installation id (the claim's holder). */
  ownerId: string;
  /** Folder of in-progress recordings (local files, 0600). */
  dir: string;
  maxBytes: number;
  retentionMs: number;
  /** How often an in-progress recording is stored (and its claim renewed). */
  flushMs?: number;
  /** How often recordings past retention are swept, and unclaimed terminals that should be recorded adopted. */
  sweepMs?: number;
  /** The pane size of a terminal as tmux has it (undefined: not on this machine). */
  paneSize?: (terminalId: string) => Promise<{ width: number; height: number } | undefined>;
}

interface Recording {
  terminalId: string;
  file: string;
  fd: number;
  encoder: CastEncoder;
  /** Lines not yet in the file (written on the next tick: a write per chunk would cost the flood's CPU). */
  pending: string[];
  /** Bytes of the file when it was last stored, and when. */
  storedBytes: number;
  storedAt: number;
  follow?: { stop(): void };
  /** The first chunk of a resumed recording is the scrollback it already holds: dropped. */
  skipFirst: boolean;
}

const WRITE_MS = 200;
/** Bytes a second that periodic stores of one recording send at most, on average. */
const STORE_RATE = 256 * 1024;
const DEFAULT_SIZE = { width: 200, height: 50 };

/**
 * Records terminals as asciicast v2: a task run's terminal from its start, any terminal from the moment
 * a share of it starts, until it closes. Output is taken as tether relays it (TerminalAccess.follow:
 * the scrollback, then live chunks, on NATS or in process), written to a local file, and stored whole
 * in the RecordingStore every `flushMs` and when the terminal ends.
 *
 * Several tethers on one NATS: the events reach one of them (a shared durable subscription), and a
 * claim in KV (create-if-absent) makes sure only one records a terminal even when its task-run start
 * and a share start land on two tethers. The holder renews the claim at every flush; a claim not
 * renewed for `claimStaleMs` (its tether died) is taken over by the next tether that sees a reason to
 * record, which resumes from the stored copy.
 */
export class Recorder {
  private readonly active = new Map<string, Recording>();
  private readonly beginning = new Set<string>();
  private subs: Subscription[] = [];
  private claims?: KvBucket;
  private timers: NodeJS.Timeout[] = [];
  private readonly flushMs: number;
  private readonly sweepMs: number;
  private readonly claimStaleMs: number;
  private flushing = Promise.resolve();

  constructor(private readonly opts: RecorderOptions) {
    this.flushMs = opts.flushMs ?? 5_000;
    this.sweepMs = opts.sweepMs ?? 60_000;
    this.claimStaleMs = Math.max(30_000, 4 * this.flushMs);
    privateDir(opts.dir);
  }

  async start(): Promise<void> {
    const { store } = this.opts;
    this.claims = await store.kv(CLAIM_BUCKET);
    await this.sweep();
    this.subs = [
      await store.subscribe(
        'pm_recorder_terminals',
        { filter: subjects.entityEvents('terminal'), ackWaitMs: 60_000 },
        (e) => this.onTerminal(e),
      ),
      await store.subscribe('pm_recorder_shares', { filter: subjects.entityEvents('share'), ackWaitMs: 60_000 }, (e) =>
        this.onShare(e),
      ),
    ];
    await this.adopt();
    this.timers = [
      setInterval(() => this.tick(WRITE_MS), WRITE_MS),
      setInterval(() => this.tick(this.flushMs), this.flushMs),
      setInterval(
        () => void Promise.all([this.sweep(), this.adopt()]).catch((err) => this.warn(err, 'recording sweep failed')),
        this.sweepMs,
      ),
    ];
  }

  /** Stores what was recorded; the claims stay, so the next start of this tether resumes the recordings. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.subs.map((s) => s.stop()));
    await this.flushing;
    for (const rec of [...this.active.values()]) {
      rec.follow?.stop();
      await this.store(rec).catch((err) => this.warn(err, 'recording not stored at stop', rec.terminalId));
      closeSync(rec.fd);
    }
    this.active.clear();
  }

  /** The recording so far of a terminal this tether records now (fresher than its last store), else undefined. */
  current(terminalId: string): Uint8Array | undefined {
    const rec = this.active.get(terminalId);
    if (!rec) return undefined;
    this.write(rec);
    return readFileSync(rec.file);
  }

  /** Terminals this tether records now (tests, diagnostics). */
  recording(): string[] {
    return [...this.active.keys()];
  }

  private async onTerminal(e: StoredEvent): Promise<void> {
    const id = e.event.entityId;
    const state = String(e.event.state);
    if (state === 'closed') return this.end(id);
    if (e.event.type === 'terminal.started' || e.event.type === 'terminal.respawned') {
      const t = await readActor(this.opts.host, 'terminal', id);
      if (t && isLiveTerminal(t.value) && taskRunOf(t.context)) await this.begin(t);
    }
  }

  private async onShare(e: StoredEvent): Promise<void> {
    if (e.event.type !== 'share.started') return;
    const share = await readActor(this.opts.host, 'share', e.event.entityId);
    if (!share) return;
    const t = await readActor(this.opts.host, 'terminal', share.context.terminalId);
    if (t && isLiveTerminal(t.value)) await this.begin(t);
  }

  /** Live terminals that should be recorded and that no live tether records: this one takes them (at start, then periodically). */
  private async adopt(): Promise<void> {
    // A terminal this tether was recording before a restart goes on being recorded, even if its share ended meanwhile.
    const mine = new Set(this.localIds());
    const due = await listActorsOf(
      this.opts.store,
      'terminal',
      (a) =>
        isLiveTerminal(a.value) &&
        (mine.has(a.entityId) || taskRunOf(a.context) !== undefined || (a.context.shares ?? []).length > 0),
    );
    for (const t of due) if (!this.active.has(t.entityId)) await this.begin(t);
  }

  private async begin(t: ActorOf<'terminal'>): Promise<void> {
    const id = t.entityId;
    if (this.active.has(id) || this.beginning.has(id)) return;
    this.beginning.add(id);
    try {
      if (!(await this.claim(id))) return;
      const rec = await this.open(t);
      this.active.set(id, rec);
      try {
        rec.follow = await this.opts.terminals.follow(id, (chunk) => this.onChunk(rec, chunk));
      } catch (err) {
        // Not running anywhere (yet): released, so the next adopt (or another tether) tries again.
        this.active.delete(id);
        closeSync(rec.fd);
        await this.release(id);
        return this.warn(err, 'terminal not recorded: its output cannot be followed', id);
      }
      this.opts.log.info({ terminalId: id, resumed: rec.skipFirst }, 'recording terminal');
    } catch (err) {
      this.warn(err, 'recording did not start', id);
    } finally {
      this.beginning.delete(id);
    }
  }

  /** The local file: this tether's own from before a restart, else the stored copy (another tether's), else a new one. */
  private async open(t: ActorOf<'terminal'>, fresh = false): Promise<Recording> {
    const id = t.entityId;
    const file = join(this.opts.dir, `${id}.cast`);
    if (!existsSync(file)) {
      const stored = fresh ? undefined : await this.opts.recordings.get(id);
      const body = stored ?? Buffer.from(CastEncoder.header({ ...(await this.size(id)), ...titled(t) }));
      const fd = openSync(file, 'w', 0o600);
      writeSync(fd, body);
      closeSync(fd);
    }
    let body = readFileSync(file, 'utf8');
    // A kill -9 mid-write may have left half a line: the recording goes on from the last whole one.
    if (!body.endsWith('\n')) {
      body = body.slice(0, body.lastIndexOf('\n') + 1);
      writeFileSync(file, body, { mode: 0o600 });
    }
    let parsed: ReturnType<typeof parseCast>;
    try {
      parsed = parseCast(body);
    } catch (err) {
      // Not even a whole header: nothing of it can be played, so it starts again.
      this.warn(err, 'local recording unreadable; starting it again', id);
      rmSync(file, { force: true });
      if (fresh) throw err;
      return this.open(t, true);
    }
    const { header, events } = parsed;
    const bytes = Buffer.byteLength(body);
    const encoder = new CastEncoder(header.timestamp * 1000, this.opts.maxBytes, bytes);
    encoder.cut = events.at(-1)?.[2] === cutNotice(this.opts.maxBytes);
    return {
      terminalId: id,
      file,
      fd: openSync(file, 'a', 0o600),
      encoder,
      pending: [],
      storedBytes: 0,
      storedAt: 0,
      skipFirst: events.length > 0,
    };
  }

  private onChunk(rec: Recording, chunk: Uint8Array) {
    if (rec.skipFirst) {
      rec.skipFirst = false;
      return;
    }
    const line = rec.encoder.encode(chunk, Date.now());
    if (line) rec.pending.push(line);
  }

  /** Every WRITE_MS: pending lines to the files; every flushMs also: stored, claims renewed, ended terminals finished. */
  private tick(every: number) {
    this.flushing = this.flushing
      .then(async () => {
        for (const rec of this.active.values()) this.write(rec);
        if (every === WRITE_MS) return;
        for (const rec of [...this.active.values()]) {
          // The terminal's end may have reached another tether: each holder checks its own.
          const t = await this.opts.host.state('terminal', rec.terminalId);
          if (!t || !isLiveTerminal(t.value)) {
            await this.finish(rec);
            continue;
          }
          if (!(await this.renew(rec.terminalId))) {
            this.drop(rec);
            continue;
          }
          if (Date.now() - rec.storedAt >= this.storeEveryMs(rec)) await this.store(rec);
        }
      })
      .catch((err) => this.warn(err, 'recording flush failed'));
  }

  private write(rec: Recording) {
    if (rec.pending.length === 0) return;
    const text = rec.pending.join('');
    rec.pending = [];
    writeSync(rec.fd, text);
  }

  /**
   * Each store sends the whole recording again: a big one is stored less often (at most STORE_RATE bytes a
   * second on average), so a long flood does not cost more to store than to record. A crash of tether loses
   * none of it (the local file is resumed); a lost machine loses what came after the last store.
   */
  private storeEveryMs(rec: Recording) {
    return Math.max(this.flushMs, (rec.encoder.bytes / STORE_RATE) * 1000);
  }

  private async store(rec: Recording) {
    this.write(rec);
    if (rec.encoder.bytes === rec.storedBytes) return;
    const bytes = rec.encoder.bytes;
    await this.opts.recordings.put(rec.terminalId, readFileSync(rec.file));
    rec.storedBytes = bytes;
    rec.storedAt = Date.now();
  }

  private async end(id: string): Promise<void> {
    const rec = this.active.get(id);
    if (!rec) return;
    this.flushing = this.flushing.then(() => this.finish(rec));
    await this.flushing;
  }

  /** The terminal ended: its last output, then the whole recording stored, the local file and the claim gone. */
  private async finish(rec: Recording): Promise<void> {
    if (this.active.get(rec.terminalId) !== rec) return;
    this.active.delete(rec.terminalId);
    await new Promise((r) => setTimeout(r, WRITE_MS)); // output relayed just before the end is still on its way
    rec.follow?.stop();
    try {
      await this.store(rec);
      rmSync(rec.file, { force: true });
      await this.release(rec.terminalId);
      this.opts.log.info({ terminalId: rec.terminalId, bytes: rec.encoder.bytes }, 'recording stored');
    } catch (err) {
      this.warn(err, 'recording not stored; the local copy stays', rec.terminalId);
    } finally {
      closeSync(rec.fd);
    }
  }

  /** Takes the terminal's claim: free, already this tether's, or left stale by a tether that died. */
  private async claim(id: string): Promise<boolean> {
    const kv = this.claims!;
    const mine: Claim = { holder: this.opts.ownerId, at: Date.now() };
    try {
      await kv.create(id, mine);
      return true;
    } catch (err) {
      if (!(err instanceof KvRevisionError)) throw err;
    }
    const now = await kv.get<Claim>(id);
    if (!now) return this.claim(id); // released meanwhile
    if (now.value.holder !== this.opts.ownerId && Date.now() - now.value.at < this.claimStaleMs) return false;
    try {
      await kv.update(id, mine, now.revision);
      return true;
    } catch (err) {
      if (err instanceof KvRevisionError) return false; // another tether took it first
      throw err;
    }
  }

  /** Renews this tether's claim; false when another tether holds it now (it took it over while this one stalled). */
  private async renew(id: string): Promise<boolean> {
    const kv = this.claims!;
    const now = await kv.get<Claim>(id);
    if (now && now.value.holder !== this.opts.ownerId) return false;
    const mine: Claim = { holder: this.opts.ownerId, at: Date.now() };
    try {
      await (now ? kv.update(id, mine, now.revision) : kv.create(id, mine));
      return true;
    } catch (err) {
      if (err instanceof KvRevisionError) return false; // taken between the read and the write
      throw err; // the store is away: the recording goes on, renewed at the next tick
    }
  }

  /** Another tether records the terminal now: this one stops, leaving the stored copy to it. */
  private drop(rec: Recording) {
    this.active.delete(rec.terminalId);
    rec.follow?.stop();
    closeSync(rec.fd);
    rmSync(rec.file, { force: true });
    this.opts.log.warn({ terminalId: rec.terminalId }, 'another tether took this recording over; stopped here');
  }

  private async release(id: string) {
    await this.claims!.delete(id).catch(() => undefined);
  }

  private async size(id: string) {
    return (await this.opts.paneSize?.(id).catch(() => undefined)) ?? DEFAULT_SIZE;
  }

  private async sweep() {
    const removed = await sweepRecordings(this.opts.recordings, this.opts.retentionMs);
    if (removed.length > 0) this.opts.log.info({ removed }, 'recordings past their retention deleted');
    await this.sweepLocal();
  }

  /**
   * Local copies of terminals that ended while this tether was down (or whose last store failed): stored
   * when the store has less of them, then removed.
   */
  private async sweepLocal() {
    for (const id of this.localIds()) {
      if (this.active.has(id) || this.beginning.has(id)) continue;
      const t = await this.opts.host.state('terminal', id);
      if (t && isLiveTerminal(t.value)) continue; // adopted by the next adopt, here or elsewhere
      const file = join(this.opts.dir, `${id}.cast`);
      const body = readFileSync(file);
      if (((await this.opts.recordings.get(id))?.length ?? 0) < body.length) await this.opts.recordings.put(id, body);
      rmSync(file, { force: true });
    }
  }

  /** Terminals with an in-progress file here. */
  private localIds(): string[] {
    return readdirSync(this.opts.dir)
      .filter((n) => n.endsWith('.cast'))
      .map((n) => n.slice(0, -'.cast'.length));
  }

  private warn(err: unknown, msg: string, terminalId?: string) {
    this.opts.log.warn({ terminalId, err: String(err) }, msg);
  }
}

/** The task run a terminal shows (terminal.spawn's `taskRunId`, kept in its context). */
export const taskRunOf = (ctx: TerminalContext) => (ctx as TerminalContext & { taskRunId?: string }).taskRunId;

function titled(t: ActorOf<'terminal'>) {
  const run = taskRunOf(t.context);
  const title = run
    ? `task run ${run}`
    : t.context.title
      ? `${t.context.title} (${t.entityId})`
      : `terminal ${t.entityId}`;
  return { timestamp: Math.floor(Date.now() / 1000), title };
}
