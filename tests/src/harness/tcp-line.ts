import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP line between Chromium and tether: a test or bench cuts every connection through it at once (a
 * network blip: reset, no close handshake), holds it down, or points it at the next tether.
 */
export class TcpLine {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  port = 0;
  /** While down, connections are dropped as they come (the page keeps retrying). */
  down = false;

  private constructor(
    /** Where connections go: the tether's port (set it to the next one after a restart). */
    public upstream: number,
  ) {
    this.server = createServer((client) => this.forward(client));
  }

  /** Listens on a free loopback port and forwards each connection to `upstream` on 127.0.0.1. */
  static async open(upstream: number): Promise<TcpLine> {
    const line = new TcpLine(upstream);
    await new Promise<void>((r) => line.server.listen(0, '127.0.0.1', r));
    line.port = (line.server.address() as { port: number }).port;
    return line;
  }

  private forward(client: Socket) {
    if (this.down) return void client.resetAndDestroy();
    const up = connect(this.upstream, '127.0.0.1');
    for (const s of [client, up]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        up.destroy();
      });
    }
    client.pipe(up).pipe(client);
  }

  /** The page's address for a tether URL. */
  via(url: string): string {
    const u = new URL(url);
    u.host = `127.0.0.1:${this.port}`;
    return u.toString();
  }

  /** A blip: every connection through the line drops at once. */
  cut() {
    for (const s of this.sockets) s.resetAndDestroy();
  }

  close() {
    this.server.close();
    this.cut();
  }
}
