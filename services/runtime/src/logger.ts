import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs; fields named like secrets are censored wherever they appear. */
export function createLogger(name: string, level = process.env.TETHER_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['*.token', '*.secret', '*.password', '*.authorization', 'token', 'secret', 'password'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  ); // stderr: stdout belongs to the command's own output
}

export const silentLogger: Logger = pino({ level: 'silent' });
