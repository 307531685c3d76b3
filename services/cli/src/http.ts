import type { CommandRejected } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliConfig } from './cli-config.ts';
import { dataDir } from './data-dir.ts';

export const apiUrl = () => cliConfig().TETHER_URL;

/** Who the CLI is: TETHER_TOKEN, else the owner's token that `tether up` keeps in $TETHER_HOME/credential. */
export function credential(): string {
  const token = cliConfig().TETHER_TOKEN;
  if (token) return token;
  const file = join(dataDir(), 'credential');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new TetherError(
      'UNAUTHENTICATED',
      `no credential: ${file} does not exist; run \`tether up\` here (it writes the owner's), or set TETHER_TOKEN to a token from \`tether token create\``,
    );
  }
}

/**
 * One call to the running tether's HTTP API; an error reply becomes the TetherError it describes.
 * node:http rather than fetch: loading fetch (undici) costs a short command more than the call itself.
 */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const json = JSON.parse((await request(method, path, body)).text) as unknown;
  throwIfRejected(json);
  return json as T;
}

/** A GET of a body that is not JSON (a recording); an error reply (JSON) becomes its TetherError. */
export async function callText(path: string): Promise<string> {
  const res = await request('GET', path);
  if (res.status >= 400) {
    throwIfRejected(JSON.parse(res.text) as unknown);
    throw new TetherError('INTERNAL', `tether answered ${res.status} to GET ${path}`);
  }
  return res.text;
}

async function request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const url = new URL(apiUrl() + path);
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const authorization = `Bearer ${credential()}`; // before the call: a missing credential is not an unreachable tether
  try {
    return await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: false, // no keep-alive: the process exits as soon as the answer is in
          headers: {
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            authorization,
          },
        },
        (res) => {
          let received = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (received += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: received }));
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
}

/** tether's own error reply: its shape is checked, not parsed with zod, which would load zod for every short command. */
function throwIfRejected(json: unknown) {
  const rejected = json as Partial<CommandRejected> | null;
  if (rejected?.ok === false && rejected.error) {
    const e = rejected.error;
    throw new TetherError(e.code, e.message, { reason: e.reason, issues: e.issues });
  }
}
