import {
  CommandReply,
  CREDENTIAL_HEADER,
  TetherError,
  parseCommandSubject,
  subjects,
  type CommandRequest,
  type Principal,
} from '@tether/contracts';
import { headers, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { uuid, type IdGenerator } from '../clock.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { Dispatcher } from './dispatcher.ts';
import { parseJsonBody, toCommand, toRejection } from './intake.ts';

export const COMMAND_QUEUE = 'tether-hosts';

/**
 * Serves tether.cmd.> for one actor host. Hosts share a queue group, so several processes
 * split the load; OCC keeps them honest when two touch one entity.
 */
export function serveCommands(
  nc: NatsConnection,
  dispatcher: Dispatcher,
  opts: {
    /** Who the Tether-Credential header proves; a command without a valid one is refused, nothing written. */
    authenticate: (credential: string | undefined) => Promise<Principal>;
    logger?: Logger;
    ids?: IdGenerator;
  },
): { stop(): Promise<void> } {
  const log = opts.logger ?? silentLogger;
  const ids = opts.ids ?? uuid;
  const sub: Subscription = nc.subscribe(subjects.allCommands, {
    queue: COMMAND_QUEUE,
    callback: (err, msg) => {
      if (err) return log.error({ err: String(err) }, 'command subscription error');
      void (async () => {
        let reply: CommandReply;
        let correlationId: string | undefined;
        try {
          const parts = parseCommandSubject(msg.subject);
          if (!parts) throw new TetherError('UNKNOWN_COMMAND', `${msg.subject} is not tether.cmd.<entity>.<verb>`);
          const principal = await opts.authenticate(msg.headers?.get(CREDENTIAL_HEADER) || undefined);
          const cmd = toCommand(parts.entity, parts.verb, parseJsonBody(msg.data), ids, principal);
          correlationId = cmd.correlationId;
          reply = await dispatcher.accept(cmd);
          log.debug({ correlationId, subject: msg.subject, seq: reply.seq }, 'command accepted');
        } catch (e) {
          reply = toRejection(e);
          const level = reply.error.code === 'INTERNAL' ? 'error' : 'debug';
          log[level](
            { correlationId, subject: msg.subject, code: reply.error.code, msg: reply.error.message },
            'command rejected',
          );
        }
        if (msg.reply) msg.respond(JSON.stringify(reply));
      })();
    },
  });
  return { stop: async () => sub.drain() };
}

/** Client side: sends a command with its credential and returns the typed reply; no responders/timeouts become UNAVAILABLE. */
export async function sendCommand(
  nc: NatsConnection,
  entity: string,
  verb: string,
  req: CommandRequest,
  opts: { credential: string; timeoutMs?: number },
): Promise<CommandReply> {
  try {
    const h = headers();
    h.set(CREDENTIAL_HEADER, opts.credential);
    const m = await nc.request(subjects.command(entity, verb), JSON.stringify(req), {
      timeout: opts.timeoutMs ?? 10_000,
      headers: h,
    });
    return CommandReply.parse(m.json());
  } catch (err) {
    if (err instanceof TetherError) return toRejection(err);
    return toRejection(
      new TetherError(
        'UNAVAILABLE',
        `no tether host answered ${entity}.${verb}: ${(err as Error).message}; is \`tether up\` running?`,
        { cause: err },
      ),
    );
  }
}
