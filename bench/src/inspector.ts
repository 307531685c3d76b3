import WebSocket from 'ws';

/**
 * Memory of another node process (a `tether up` child started with NODE_OPTIONS=--inspect=127.0.0.1:0)
 * through the inspector protocol: a full GC (HeapProfiler.collectGarbage, what global.gc does under
 * --expose-gc), then its process.memoryUsage().
 */
export interface MemoryProbe {
  memory(): Promise<NodeJS.MemoryUsage>;
  close(): void;
}

/** Node's startup line "Debugger listening on ws://…" in the child's stderr. */
export const inspectorUrlIn = (stderr: string) => /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];

export async function attachMemoryProbe(wsUrl: string): Promise<MemoryProbe> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let lastId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const p = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!p) return; // events
    pending.delete(msg.id!);
    if (msg.error) p.reject(new Error(`inspector: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  ws.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
  });
  const send = <T = unknown>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = ++lastId;
      pending.set(id, { resolve: (v) => resolve(v as T), reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async memory() {
      // Twice: the first pass can leave objects whose finalizers free more on the second.
      await send('HeapProfiler.collectGarbage');
      await send('HeapProfiler.collectGarbage');
      const r = await send<{ result: { value: string }; exceptionDetails?: unknown }>('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      if (r.exceptionDetails) throw new Error(`inspector: ${JSON.stringify(r.exceptionDetails)}`);
      return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
    },
    close: () => ws.close(),
  };
}
