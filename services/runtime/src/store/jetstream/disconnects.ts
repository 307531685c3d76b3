import type { NatsConnection } from '@nats-io/nats-core';

/** Per connection: whether it is down (between a drop and the reconnect), and the requests awaiting an answer. */
interface Watch {
  down: boolean;
  waiting: Set<() => void>;
}
const watches = new WeakMap<NatsConnection, Watch>();

function watchOf(nc: NatsConnection): Watch {
  const known = watches.get(nc);
  if (known) return known;
  const w: Watch = { down: false, waiting: new Set() };
  watches.set(nc, w);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') w.down = false;
      if (s.type !== 'disconnect' && s.type !== 'staleConnection') continue;
      w.down = true;
      for (const fail of [...w.waiting]) fail();
      w.waiting.clear();
    }
  })();
  return w;
}

/**
 * `pending` (a request on `nc`), unless the connection is down or drops first: then `dropped()` at once.
 * The answer to a request sent before a drop never comes (it was bound for the old connection), nor
 * does one to a request made while down, so the caller would otherwise wait out its whole timeout, and
 * hold up whatever retries after a reconnect.
 */
export async function failOnDisconnect<T>(nc: NatsConnection, pending: Promise<T>, dropped: () => Error): Promise<T> {
  const { down, waiting: set } = watchOf(nc);
  pending.catch(() => undefined); // if the drop wins, nobody awaits this one any more
  if (down) throw dropped();
  let fail!: () => void;
  const lost = new Promise<never>((_, reject) => (fail = () => reject(dropped())));
  set.add(fail);
  try {
    return await Promise.race([pending, lost]);
  } finally {
    set.delete(fail);
  }
}
