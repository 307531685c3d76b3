import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** How log lines look: JSON for machines, or pino-pretty's coloured lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** Fields named like secrets, censored wherever they appear, in either format. */
const REDACT = {
  paths: ['*.token', '*.secret', '*.password', '*.authorization', 'token', 'secret', 'password'],
  censor: '[redacted]',
};

/** The format to use: the one asked for (TETHER_LOG_FORMAT), else pretty when stderr is a terminal. */
export const logFormat = (asked?: LogFormat): LogFormat => asked ?? (process.stderr.isTTY ? 'pretty' : 'json');

/**
 * Logs on stderr (stdout belongs to the command's own output): JSON lines, or pretty ones (see logFormat).
 * Redaction runs before either, so a pretty line censors what a JSON one does.
 */
export function createLogger(
  name: string,
  level = process.env.TETHER_LOG_LEVEL ?? 'info',
  format: LogFormat = logFormat(),
): Logger {
  return pino({ name, level, redact: REDACT }, format === 'pretty' ? prettyStderr() : pino.destination(2));
}

/** pino-pretty as a stream in this thread (no transport worker: the CLI is a bundle), loaded only when used. */
function prettyStderr(): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as (o: object) => DestinationStream;
  return pretty({
    destination: 2,
    sync: true,
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
}

export const silentLogger: Logger = pino({ level: 'silent' });
