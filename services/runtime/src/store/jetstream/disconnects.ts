import type { NatsConnection } from '@nats-io/nats-core';

/** Per connection, the requests awaiting an answer; a drop fails them all at once. */
const waiting = new WeakMap<NatsConnection, Set<() => void>>();

function waitingOn(nc: NatsConnection): Set<() => void> {
  const set = waiting.get(nc);
  if (set) return set;
  const fresh = new Set<() => void>();
  waiting.set(nc, fresh);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type !== 'disconnect' && s.type !== 'staleConnection') continue;
      for (const fail of [...fresh]) fail();
      fresh.clear();
    }
  })();
  return fresh;
}

/**
 * `pending` (a request on `nc`), unless the connection drops first: then `dropped()` at once. The
 * answer to a request sent before a drop never comes (it was bound for the old connection), so the
 * caller would otherwise wait out its whole timeout, and hold up whatever retries after a reconnect.
 */
export async function failOnDisconnect<T>(nc: NatsConnection, pending: Promise<T>, dropped: () => Error): Promise<T> {
  const set = waitingOn(nc);
  let fail!: () => void;
  const lost = new Promise<never>((_, reject) => (fail = () => reject(dropped())));
  set.add(fail);
  pending.catch(() => undefined); // if the drop wins, nobody awaits this one any more
  try {
    return await Promise.race([pending, lost]);
  } finally {
    set.delete(fail);
  }
}
