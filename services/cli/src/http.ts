import { CommandRejected, TetherError } from '@tether/contracts';

export const apiUrl = () => process.env.TETHER_URL ?? `http://127.0.0.1:${process.env.TETHER_PORT ?? 7420}`;

/** One call to the running tether's HTTP API; an error reply becomes the TetherError it describes. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(apiUrl() + path, {
      method,
      // Who is asking: TETHER_ACTOR ("alice" or "ai:codex-1"), else the login name.
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        'x-tether-actor': process.env.TETHER_ACTOR || process.env.USER || 'cli',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new TetherError(
      'UNAVAILABLE',
      `cannot reach tether at ${apiUrl()}: ${(err as Error).message}; run \`tether up\` or set TETHER_URL`,
    );
  }
  const json = (await res.json()) as unknown;
  const rejected = CommandRejected.safeParse(json);
  if (rejected.success) {
    const e = rejected.data.error;
    throw new TetherError(e.code, e.message, { reason: e.reason, issues: e.issues });
  }
  return json as T;
}
