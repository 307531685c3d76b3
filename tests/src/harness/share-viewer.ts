import WebSocket from 'ws';

/** A participant's viewer on a share link, as `tether attach` or the browser page would be. */
export interface Viewer {
  output(): string;
  messages: Array<Record<string, unknown> & { type: string }>;
  type(data: string): void;
  /** Any message up (a resize, or something the relay should refuse). */
  send(msg: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens a link `http://host/v/<share>#t=<token>` over the share WebSocket and says hello (with `hello`'s extra fields). */
export function openViewer(
  link: string,
  via: 'browser' | 'cli' = 'cli',
  hello: Record<string, unknown> = {},
): Promise<Viewer> {
  const u = new URL(link);
  const shareId = u.pathname.split('/').pop()!;
  const token = new URLSearchParams(u.hash.slice(1)).get('t') ?? '';
  const ws = new WebSocket(`ws://${u.host}/v1/shares/${shareId}/ws`);
  let out = '';
  const messages: Viewer['messages'] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const viewer: Viewer = {
    output: () => out,
    messages,
    type: (data) => ws.send(JSON.stringify({ type: 'input', data })),
    send: (msg) => ws.send(JSON.stringify(msg)),
    closed,
    close: () => ws.close(),
  };
  ws.on('message', (raw, binary) => {
    if (binary) out += raw.toString();
    else messages.push(JSON.parse(raw.toString()));
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'hello', token, via, ...hello }));
      resolve(viewer);
    });
    ws.once('error', reject);
  });
}
