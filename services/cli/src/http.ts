import type { CommandRejected } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { cliConfig } from './cli-config.ts';

export const apiUrl = () => cliConfig().TETHER_URL;

/**
 * One call to the running tether's HTTP API; an error reply becomes the TetherError it describes.
 * node:http rather than fetch: loading fetch (undici) costs a short command more than the call itself.
 */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(apiUrl() + path);
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let text: string;
  try {
    text = await new Promise<string>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: false, // no keep-alive: the process exits as soon as the answer is in
          // Who is asking: TETHER_ACTOR ("alice" or "ai:codex-1"), else the login name.
          headers: {
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            'x-tether-actor': cliConfig().TETHER_ACTOR,
          },
        },
        (res) => {
          let received = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (received += chunk));
          res.on('end', () => resolve(received));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  } catch (err) {
    throw new TetherError(
      'UNAVAILABLE',
      `cannot reach tether at ${apiUrl()}: ${(err as Error).message}; run \`tether up\` or set TETHER_URL`,
    );
  }
  const json = JSON.parse(text) as unknown;
  // tether's own reply: its shape is checked, not parsed with zod, which would load zod for every short command.
  const rejected = json as Partial<CommandRejected> | null;
  if (rejected?.ok === false && rejected.error) {
    const e = rejected.error;
    throw new TetherError(e.code, e.message, { reason: e.reason, issues: e.issues });
  }
  return json as T;
}
