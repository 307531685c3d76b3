import { TetherError } from '@tether/contracts/tether-error';

/** Every command prints for people by default and JSON with --json; errors likewise, to stderr. */
export interface Out {
  json: boolean;
  print(human: string, data: unknown): void;
  line(data: unknown, human: string): void;
}

export function output(json: boolean): Out {
  return {
    json,
    print: (human, data) => process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`),
    line: (data, human) => process.stdout.write(`${json ? JSON.stringify(data) : human}\n`),
  };
}

/** Ids tether makes: a UUID, or a kind and hex digits (sh-0f3a…, p-1c2d…). Names people chose stay whole. */
const GENERATED_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-|[a-z]{1,4}-[0-9a-f][0-9a-f-]{7,}$)/;

/** An id as people read it: its first 8 characters, like git's short hashes (JSON output keeps the whole id). */
export const shortId = (id: string | null | undefined): string =>
  id == null ? '-' : id.length > 8 && GENERATED_ID.test(id) ? id.slice(0, 8) : id;

export function printError(err: unknown, json: boolean): number {
  const body =
    err instanceof TetherError ? err.toBody() : { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
  if (json) process.stderr.write(`${JSON.stringify({ ok: false, error: body })}\n`);
  else process.stderr.write(`error ${body.code}: ${body.message}\n`);
  return body.code === 'INVALID_COMMAND' || body.code === 'UNKNOWN_COMMAND' ? 2 : 1;
}

/** A command used wrongly (unknown command or flag, missing argument): INVALID_COMMAND, exit 2. */
export const usageError = (message: string, json: boolean): number =>
  printError(new TetherError('INVALID_COMMAND', message), json);
