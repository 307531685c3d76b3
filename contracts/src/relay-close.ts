// Its own module, free of zod, so `tether attach` (and the one-file tether.mjs) knows the codes without loading zod.

/** WebSocket close codes of the share relay, each with a reason text. */
export const RelayClose = {
  badHello: 4400,
  badToken: 4401,
  kicked: 4403,
  webNotAllowed: 4405,
  unknownShare: 4404,
  helloTimeout: 4408,
  shareEnded: 4410,
  shuttingDown: 4503,
} as const;

/**
 * Whether a viewer stops after the relay closed its socket with `code` (docs/share-protocol.md, Reconnect):
 * a refusal, a kick or an ended share is final, as is any close after an `ended` message except
 * tether shutting down (4503, a restart). 1000 is the client's own detach. Anything else is a blip: reconnect.
 */
export function relayCloseIsFinal(code: number, sawEnded: boolean): boolean {
  if (code === RelayClose.shuttingDown) return false;
  if (code === 1000) return true;
  const final: number[] = [
    RelayClose.badHello,
    RelayClose.badToken,
    RelayClose.kicked,
    RelayClose.webNotAllowed,
    RelayClose.unknownShare,
    RelayClose.shareEnded,
  ];
  return final.includes(code) || sawEnded;
}

/** The wait before reconnect attempt `attempt` (0, 1, …): 250 ms doubling, capped at 5 s, with jitter (`random` in [0, 1)). */
export function reconnectDelayMs(attempt: number, random: number): number {
  const base = Math.min(5_000, 250 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.5 + random / 2));
}

/** How long a viewer keeps reconnecting before it gives up. */
export const RECONNECT_GIVE_UP_MS = 10 * 60_000;
