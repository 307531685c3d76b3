import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { RelayClose, ViewerMessage, type RelayMessage, type RelaySize } from '@tether/contracts';
import { participantMayType, type ShareContext } from '@tether/machines';
import type { ActorOf } from '@tether/projector';
import type { Logger } from '@tether/runtime';
import { hashToken } from './secrets.ts';
import { Scrollback } from './scrollback.ts';

export interface RelayDeps {
  /** A terminal's output (wherever it runs) in order: what it printed before, then live; resolves once the former is in. */
  follow(terminalId: string, onChunk: (chunk: Uint8Array) => void): Promise<{ stop(): void }>;
  sendInput(terminalId: string, data: string, from: string): void;
  /** A writer's size, to the terminal (which checks `from` again, as for input). */
  resize(terminalId: string, size: { cols: number; rows: number; by: string }, from: string): void;
  /** The terminal's size now, and each change of it (returns the unsubscribe). */
  size(terminalId: string): Promise<RelaySize>;
  onSize(terminalId: string, handler: (size: RelaySize) => void): () => void;
  /** Reports a participant's join or leave as a share command (cause id keeps it idempotent). */
  report(shareId: string, verb: 'joined' | 'left', causeId: string, data: Record<string, unknown>): Promise<unknown>;
  /** The share as persisted (strongly consistent). */
  share(shareId: string): Promise<ActorOf<'share'> | undefined>;
  log: Logger;
  /** Bytes a slow viewer may have queued before output to it is dropped. */
  maxBufferedBytes?: number;
}

interface Conn {
  id: string;
  ws: WebSocket;
  participantId: string;
  lastRefusal: number;
  /** What this viewer was last told of its access ("write until …" or "read"): only a change is sent. */
  told: string;
  /** The viewer's own size (hello or resize): it sizes the terminal while this participant may type. */
  size?: { cols: number; rows: number };
}

interface Relay {
  shareId: string;
  /** The id of this relay's output stream: offsets count from its first byte (a new relay starts a new stream). */
  stream: string;
  /** The terminal's size and whose it is. */
  size: RelaySize;
  ctx: ShareContext;
  /** The share's version `ctx` is from: a fresher read replaces it, an older one never does. */
  version: number;
  scrollback: Scrollback;
  conns: Set<Conn>;
  /** Stops following the terminal's output and its size. */
  stopFollow: () => void;
}

type Hello = Extract<ViewerMessage, { type: 'hello' }>;
/** A connection that said hello before its share started (awaiting approval or its worker). */
interface Waiting {
  ws: WebSocket;
  participantId: string;
  hello: Hello;
}

const HELLO_TIMEOUT_MS = 5_000;
/** Who typed, as the terminal sees it (`from` of the input message): the terminal checks the grant again. */
export const shareWriter = (shareId: string, participantId: string) => `share:${shareId}:${participantId}`;
export function parseShareWriter(from: string): { shareId: string; participantId: string } | undefined {
  const [kind, shareId, participantId, ...rest] = from.split(':');
  return kind === 'share' && shareId && participantId && rest.length === 0 ? { shareId, participantId } : undefined;
}
/** A close reason is at most 123 bytes; the full text went in the `ended` message before. */
const shortReason = (s: string) =>
  Buffer.from(s)
    .subarray(0, 120)
    .toString('utf8')
    .replace(/\uFFFD$/, '');

/**
 * The native backend: tether's own relay. A share's terminal output fans out to its participants'
 * WebSockets (scrollback first), input is accepted only from a participant with an unexpired write
 * grant, and kick, revoke and expiry close the sockets with a reason.
 */
export class NativeRelays {
  private readonly relays = new Map<string, Relay>();
  /** Relays subscribing and fetching scrollback: update() keeps their ctx current, close() cancels them. */
  private readonly opening = new Map<string, { relay: Relay; done: Promise<void> }>();
  /** Connections that said hello before their share started (awaiting approval or its worker). */
  private readonly waiting = new Map<string, Set<Waiting>>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 128 * 1024 });

  constructor(private readonly deps: RelayDeps) {}

  get size() {
    return this.relays.size;
  }

  has(shareId: string) {
    return this.relays.has(shareId);
  }

  connections(shareId: string) {
    return this.relays.get(shareId)?.conns.size ?? 0;
  }

  /** Starts relaying the share's terminal; participants who were waiting are let in once its scrollback is in. */
  open(share: ActorOf<'share'>): Promise<void> {
    const shareId = share.entityId;
    if (this.relays.has(shareId)) return Promise.resolve(this.update(share));
    const pending = this.opening.get(shareId);
    if (pending) {
      refresh(pending.relay, share);
      return pending.done;
    }
    const relay: Relay = {
      shareId,
      ctx: share.context,
      version: share.version,
      stream: randomUUID(),
      size: { cols: 200, rows: 50, by: null },
      scrollback: new Scrollback(),
      conns: new Set(),
      stopFollow: () => undefined,
    };
    const done = this.start(relay);
    this.opening.set(shareId, { relay, done });
    return done;
  }

  private async start(relay: Relay): Promise<void> {
    const stillOpening = () => this.opening.get(relay.shareId)?.relay === relay;
    let followed: Awaited<ReturnType<RelayDeps['follow']>> | undefined;
    let now: ActorOf<'share'> | undefined;
    // Changes heard while the size is asked for are newer than its answer.
    let heard = false;
    const stopSize = this.deps.onSize(relay.ctx.terminalId, (size) => {
      heard = true;
      this.sized(relay, size);
    });
    // Asked alongside the scrollback; a terminal that cannot say its size is still relayed, at the default.
    const size = this.deps.size(relay.ctx.terminalId).catch((err) => {
      this.deps.log.warn(
        { shareId: relay.shareId, terminalId: relay.ctx.terminalId, err: String(err) },
        'terminal size unknown: viewers are told the default 200x50 until it changes',
      );
      return undefined;
    });
    try {
      followed = await this.deps.follow(relay.ctx.terminalId, (chunk) => this.fanOut(relay, chunk));
      const told = await size;
      if (told && !heard) relay.size = told;
      // A kick, grant or revoke may have landed while the scrollback was on its way.
      now = await this.deps.share(relay.shareId);
    } catch (err) {
      followed?.stop();
      stopSize();
      if (stillOpening()) this.opening.delete(relay.shareId);
      throw err;
    }
    const stop = () => {
      followed.stop();
      stopSize();
    };
    if (!stillOpening()) return stop(); // closed while it was opening
    this.opening.delete(relay.shareId);
    if (now) refresh(relay, now);
    if (now?.value === 'ended') return stop(); // ended meanwhile: the runner's close tells the waiting why
    relay.stopFollow = stop;
    this.relays.set(relay.shareId, relay);
    for (const w of this.waiting.get(relay.shareId) ?? []) this.admit(relay, w.ws, w.participantId, w.hello);
    this.waiting.delete(relay.shareId);
  }

  /** A share changed (grant, kick, extend…): participants see their new access; kicked ones are cut off. */
  update(share: ActorOf<'share'>) {
    const shareId = share.entityId;
    const relay = this.relays.get(shareId);
    if (!relay) {
      const opening = this.opening.get(shareId)?.relay;
      if (opening) refresh(opening, share);
      const ctx = opening?.ctx ?? share.context;
      for (const w of this.waiting.get(shareId) ?? [])
        if (ctx.participants[w.participantId]?.kicked)
          this.end(w.ws, RelayClose.kicked, `you were removed from share ${shareId} by its owner`);
      return;
    }
    refresh(relay, share);
    for (const c of relay.conns) {
      const p = relay.ctx.participants[c.participantId];
      if (!p || p.kicked) {
        this.end(c.ws, RelayClose.kicked, `you were removed from share ${shareId} by its owner`);
        continue;
      }
      const access = this.writable(relay, c.participantId) ? 'write' : 'read';
      const told = `${access} ${p.writeUntil ?? ''}`;
      if (told === c.told) continue; // joins, leaves and others' grants are no news to this viewer
      const granted = access === 'write' && !c.told.startsWith('write');
      c.told = told;
      send(c.ws, { type: 'access', access, write_until: p.writeUntil ?? null });
      if (granted) this.sizeFrom(relay, c); // a new writer's size wins, as if it had just said it
    }
  }

  notify(shareId: string, msg: RelayMessage) {
    for (const c of this.relays.get(shareId)?.conns ?? []) send(c.ws, msg);
  }

  /** Ends the share's relay: every participant (and anyone waiting) is disconnected with the reason. */
  close(shareId: string, reason: string, code: number = RelayClose.shareEnded) {
    const relay = this.relays.get(shareId);
    this.relays.delete(shareId);
    this.opening.delete(shareId);
    relay?.stopFollow();
    for (const c of relay?.conns ?? []) this.end(c.ws, code, reason);
    for (const w of this.waiting.get(shareId) ?? []) this.end(w.ws, code, reason);
    this.waiting.delete(shareId);
  }

  closeAll(reason: string) {
    for (const id of [...this.relays.keys(), ...this.waiting.keys()]) this.close(id, reason, RelayClose.shuttingDown);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, shareId: string) {
    // Browsers always send an Origin with a WebSocket; `tether attach` sends none.
    const fromBrowser = req.headers.origin !== undefined;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.greet(ws, shareId, fromBrowser));
  }

  private writable(relay: Relay, participantId: string): boolean {
    return participantMayType('active', relay.ctx, participantId, Date.now()); // a relay exists only while its share runs
  }

  /** Waits for the hello with the token, then admits the participant it names. */
  private greet(ws: WebSocket, shareId: string, fromBrowser: boolean) {
    const timer = setTimeout(
      () => this.end(ws, RelayClose.helloTimeout, 'no hello with a token within 5 s'),
      HELLO_TIMEOUT_MS,
    );
    ws.once('message', (raw: RawData, binary: boolean) => {
      clearTimeout(timer);
      void this.hello(ws, shareId, binary ? undefined : raw.toString(), fromBrowser).catch((err) => {
        this.deps.log.warn({ shareId, err: String(err) }, 'share hello failed');
        this.end(ws, 1011, 'tether could not check the link; try again');
      });
    });
  }

  private async hello(ws: WebSocket, shareId: string, text: string | undefined, fromBrowser: boolean) {
    const msg = text ? ViewerMessage.safeParse(safeJson(text)) : undefined;
    if (!msg?.success || msg.data.type !== 'hello')
      return this.end(ws, RelayClose.badHello, 'the first message must be {"type":"hello","token":…}');
    const share = await this.deps.share(shareId);
    if (ws.readyState !== ws.OPEN) return; // the viewer left while the link was checked
    if (!share) return this.end(ws, RelayClose.unknownShare, `share ${shareId} does not exist`);
    const ctx = share.context;
    const hash = hashToken(msg.data.token);
    const participantId = Object.keys(ctx.participants).find((id) => ctx.participants[id]!.tokenHash === hash);
    if (!participantId) return this.end(ws, RelayClose.badToken, `this link is not valid for share ${shareId}`);
    if (share.value === 'ended') return this.end(ws, RelayClose.shareEnded, endedText(shareId, ctx));
    if (ctx.participants[participantId]!.kicked)
      return this.end(ws, RelayClose.kicked, `you were removed from share ${shareId} by its owner`);
    if (ctx.web === false && (fromBrowser || msg.data.via === 'browser'))
      return this.end(
        ws,
        RelayClose.webNotAllowed,
        `share ${shareId} takes no browser viewers (TETHER_LIVE_ALLOW_WEB=0): watch it with \`tether attach\``,
      );
    const hello = msg.data;
    (ws as WebSocket & { via?: string }).via = hello.via;
    const relay = this.relays.get(shareId);
    if (relay) {
      refresh(relay, share); // a participant invited a moment ago is not in an older copy
      return this.admit(relay, ws, participantId, hello);
    }
    send(ws, { type: 'waiting', status: String(share.value) });
    const set = this.waiting.get(shareId) ?? new Set();
    const entry: Waiting = { ws, participantId, hello };
    set.add(entry);
    this.waiting.set(shareId, set);
    ws.once('close', () => {
      set.delete(entry);
      if (set.size === 0 && this.waiting.get(shareId) === set) this.waiting.delete(shareId);
    });
    // A revoke that landed while the link was checked closed the waiting list before this entry joined it.
    const now = await this.deps.share(shareId);
    if (now?.value === 'ended' && set.has(entry)) this.end(ws, RelayClose.shareEnded, endedText(shareId, now.context));
  }

  private admit(relay: Relay, ws: WebSocket, participantId: string, hello: Hello) {
    const p = relay.ctx.participants[participantId];
    if (!p || p.kicked)
      return this.end(ws, RelayClose.kicked, `you were removed from share ${relay.shareId} by its owner`);
    if (ws.readyState !== ws.OPEN) return;
    const access = this.writable(relay, participantId) ? 'write' : 'read';
    const conn: Conn = {
      id: randomUUID(),
      ws,
      participantId,
      lastRefusal: 0,
      told: `${access} ${p.writeUntil ?? ''}`,
      ...(hello.cols && hello.rows ? { size: { cols: hello.cols, rows: hello.rows } } : {}),
    };
    relay.conns.add(conn);
    const via = (ws as WebSocket & { via?: string }).via ?? 'browser';
    // Same stream and still held: only the bytes the viewer missed; otherwise the whole scrollback (it resets first).
    const missed = hello.resume?.stream === relay.stream ? relay.scrollback.readFrom(hello.resume.offset) : undefined;
    const back = missed ?? relay.scrollback.read();
    send(ws, {
      type: 'welcome',
      share_id: relay.shareId,
      terminal_id: relay.ctx.terminalId,
      participant_id: participantId,
      name: p.name,
      access,
      write_until: p.writeUntil ?? null,
      expires_at: relay.ctx.expiresAt ?? null,
      stream: relay.stream,
      offset: relay.scrollback.end - back.length,
      resumed: missed !== undefined,
      size: relay.size,
    });
    // Someone joining during the grace period hears about it too.
    if (relay.ctx.warnedAt && relay.ctx.expiresAt)
      send(ws, {
        type: 'warning',
        expires_at: relay.ctx.expiresAt,
        ms_left: Math.max(0, Date.parse(relay.ctx.expiresAt) - Date.now()),
      });
    if (back.length > 0) ws.send(back);
    this.sizeFrom(relay, conn);
    void this.deps
      .report(relay.shareId, 'joined', `join-${conn.id}`, { participantId, via })
      .catch((err) => this.deps.log.warn({ shareId: relay.shareId, err: String(err) }, 'join not recorded'));
    ws.on('message', (raw: RawData, binary: boolean) =>
      this.onViewerMessage(relay, conn, binary ? undefined : raw.toString()),
    );
    ws.once('close', (code: number) => {
      relay.conns.delete(conn);
      const reason =
        code === RelayClose.kicked ? 'kicked' : code >= 4000 ? 'disconnected by tether' : 'closed the connection';
      void this.deps
        .report(relay.shareId, 'left', `left-${conn.id}`, { participantId, reason })
        .catch((err) => this.deps.log.warn({ shareId: relay.shareId, err: String(err) }, 'leave not recorded'));
    });
  }

  private onViewerMessage(relay: Relay, conn: Conn, text: string | undefined) {
    const msg = text ? ViewerMessage.safeParse(safeJson(text)) : undefined;
    if (!msg?.success || msg.data.type === 'hello')
      return this.refuse(
        conn,
        `ignored: a message must be {"type":"input","data":…} or {"type":"resize","cols":10..1000,"rows":4..500}${msg?.success ? ' (hello is sent once)' : ''}`,
      );
    if (msg.data.type === 'resize') {
      conn.size = { cols: msg.data.cols, rows: msg.data.rows };
      return this.sizeFrom(relay, conn);
    }
    const live = this.relays.get(relay.shareId) === relay;
    if (live && this.writable(relay, conn.participantId)) {
      this.deps.sendInput(relay.ctx.terminalId, msg.data.data, shareWriter(relay.shareId, conn.participantId));
      return;
    }
    this.refuse(conn, 'read-only: your input was not sent; ask the share owner for write access');
  }

  /** One notice a second is enough for a viewer typing into a read-only share (or sending what is ignored). */
  private refuse(conn: Conn, message: string) {
    if (Date.now() - conn.lastRefusal < 1_000) return;
    conn.lastRefusal = Date.now();
    send(conn.ws, { type: 'refused', message });
  }

  /** The writer's size wins: a participant who may type now sizes the terminal; others' sizes only wait for a grant. */
  private sizeFrom(relay: Relay, conn: Conn) {
    const want = conn.size;
    const name = relay.ctx.participants[conn.participantId]?.name;
    if (!want || !name || this.relays.get(relay.shareId) !== relay || !this.writable(relay, conn.participantId)) return;
    const { cols, rows, by } = relay.size;
    if (cols === want.cols && rows === want.rows && by === name) return;
    this.deps.resize(relay.ctx.terminalId, { ...want, by: name }, shareWriter(relay.shareId, conn.participantId));
  }

  /** The terminal's size changed: every participant is told (an unchanged size is no news). */
  private sized(relay: Relay, size: RelaySize) {
    const was = relay.size;
    if (was.cols === size.cols && was.rows === size.rows && was.by === size.by) return;
    relay.size = size;
    for (const c of relay.conns) send(c.ws, { type: 'size', ...size });
  }

  private fanOut(relay: Relay, chunk: Uint8Array) {
    relay.scrollback.push(chunk);
    const limit = this.deps.maxBufferedBytes ?? 1 << 20;
    for (const c of relay.conns) {
      if (c.ws.bufferedAmount < limit) c.ws.send(chunk);
      // A viewer that cannot keep up is cut off rather than growing tether's memory or missing bytes
      // silently: it reconnects and resumes from its offset (or starts over from the scrollback).
      else if (c.ws.readyState === c.ws.OPEN) c.ws.close(1011, 'your connection fell behind the output; reconnect');
    }
  }

  private end(ws: WebSocket, code: number, reason: string) {
    send(ws, { type: 'ended', code, reason });
    ws.close(code, shortReason(reason));
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => ws.terminate(), 2_000).unref();
  }
}

/** Takes `share` as the relay's copy unless the relay already holds a newer version. */
function refresh(relay: Relay, share: ActorOf<'share'>) {
  if (share.version < relay.version) return;
  relay.ctx = share.context;
  relay.version = share.version;
}

export function endedText(shareId: string, ctx: ShareContext): string {
  return `share ${shareId} ${ctx.endReason === 'expired' ? 'expired' : (ctx.endReason ?? 'ended')}${ctx.endDetail ? `: ${ctx.endDetail}` : ''}`;
}

function send(ws: WebSocket, msg: RelayMessage) {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
