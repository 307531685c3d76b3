/** One server-sent event as read off the wire: its type, its `id` when it has one, its data parsed. */
export interface SseEvent<T = unknown> {
  event: string;
  id?: number;
  data: T;
}

/**
 * Opens a server-sent events stream (GET `url` with `headers`) and reads it on demand: `until(done)` reads
 * until `done(events)` holds and fails if the stream ends first; `close()` aborts it.
 */
export async function openSse<T = unknown>(url: string, headers: Record<string, string>) {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent<T>[] = [];
  let text = '';
  const until = async (done: (es: SseEvent<T>[]) => boolean) => {
    while (!done(events)) {
      const { value, done: over } = await reader.read();
      if (over) throw new Error(`the stream ended after ${events.length} events`);
      text += value;
      const blocks = text.split('\n\n');
      text = blocks.pop()!;
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data)
          events.push({ event, ...(id !== undefined ? { id: Number(id) } : {}), data: JSON.parse(data) });
      }
    }
    return events;
  };
  return { status: res.status, contentType: res.headers.get('content-type'), events, until, close: () => ac.abort() };
}
