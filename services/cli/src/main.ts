import { parseArgs } from 'node:util';
import { TetherError } from '@tether/contracts';
import { eventsTail } from './commands/events.ts';
import { harness, lane, session, terminal } from './commands/control-plane.ts';
import { approval, share } from './commands/share.ts';
import { attach } from './commands/attach.ts';
import { audit } from './commands/audit.ts';
import { projectionsCmd } from './commands/projections.ts';
import { replay } from './commands/replay.ts';
import { send } from './commands/send.ts';
import { up } from './commands/up.ts';
import { output, printError } from './output.ts';

const HELP = `tether: control plane for terminals shared between humans and AI agents

usage:
  tether up [--port N] [--bind ADDR]          run tether (NATS_URL, else a local nats-server, else embedded)
  tether send <entity> <verb> [--entity-id ID] [--id CMD_ID] [--data JSON]
  tether events tail [--entity E] [--from-seq N] [--last N] [--no-follow]
  tether replay <entity> <id> [--to-seq N]    every event with the state after it
  tether projections rebuild <name>           rebuild a read model from the whole stream
  tether projections status                   lag of every read model
  tether lane create --name N [--project P] | list | show <id> | attach <id> | cleanup <id> [--reason R]
  tether session ensure --lane L [--transport T] [--codex-session C] | list --lane L
  tether terminal spawn --lane L --session S [--title T] | list --lane L | attach <id>
  tether harness status [--check]
  tether share create --terminal T [--backend native|tmate|upterm] [--access read|write] [--ttl 30m] [--name VIEWER]
  tether share list [--terminal T] [--live] | show <id> | links <id> | participants <id>
  tether share extend <id> --ttl 15m | revoke <id> [--reason R] | switch <id> --backend B | invite <id> --name N
  tether share grant-write <id> <participant> [--ttl 15m] | revoke-write <id> <participant> | kick <id> <participant>
  tether approval list | approve <id> [--note N] | deny <id> --reason R
  tether attach '<share link>'                watch (and, once granted, type into) a shared terminal
  tether audit tail [--entity E] [--id ID] [--last N] [--no-follow] | verify
  (lane, session and terminal take --workspace WS; default: TETHER_WORKSPACE or "default")

every command takes --json. Environment: NATS_URL, TETHER_HOME (default ./.tether), TETHER_PORT, TETHER_URL,
TETHER_ACTOR (who you are: "alice" or "ai:codex-1"; default $USER).`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        bind: { type: 'string' },
        entity: { type: 'string' },
        'entity-id': { type: 'string' },
        id: { type: 'string' },
        data: { type: 'string' },
        'from-seq': { type: 'string' },
        'to-seq': { type: 'string' },
        last: { type: 'string' },
        follow: { type: 'boolean', default: true },
        'no-follow': { type: 'boolean' },
        workspace: { type: 'string' },
        lane: { type: 'string' },
        session: { type: 'string' },
        project: { type: 'string' },
        name: { type: 'string' },
        title: { type: 'string' },
        reason: { type: 'string' },
        transport: { type: 'string' },
        'codex-session': { type: 'string' },
        check: { type: 'boolean' },
        terminal: { type: 'string' },
        backend: { type: 'string' },
        access: { type: 'string' },
        ttl: { type: 'string' },
        note: { type: 'string' },
        live: { type: 'boolean' },
      },
    });
  } catch (err) {
    return printError(
      new TetherError('INVALID_COMMAND', `${(err as Error).message}\n\n${HELP}`),
      argv.includes('--json'),
    );
  }
  const {
    values: f,
    positionals: [cmd, a, b, c],
  } = parsed;
  const out = output(f.json === true);
  if (f['no-follow']) f.follow = false;
  try {
    switch (cmd) {
      case 'up':
        return await up(out, f);
      case 'send':
        return await send(out, a, b, f);
      case 'events':
        if (a !== 'tail')
          throw new TetherError('INVALID_COMMAND', 'usage: tether events tail [--entity E] [--from-seq N]');
        return await eventsTail(out, f);
      case 'replay':
        return await replay(out, a, b, f);
      case 'projections':
        return await projectionsCmd(out, a, b);
      case 'lane':
        return await lane(out, a, b, f);
      case 'session':
        return await session(out, a, f);
      case 'terminal':
        return await terminal(out, a, b, f);
      case 'harness':
        return await harness(out, a, f.check === true);
      case 'share':
        return await share(out, a, b, c, f);
      case 'approval':
        return await approval(out, a, b, f);
      case 'attach':
        return await attach(out, a);
      case 'audit':
        return await audit(out, a, f);
      case undefined:
      case 'help':
        process.stdout.write(`${HELP}\n`);
        return cmd === undefined && !f.help ? 2 : 0;
      default:
        throw new TetherError('INVALID_COMMAND', `unknown command "${cmd}"\n\n${HELP}`);
    }
  } catch (err) {
    return printError(err, f.json === true);
  }
}
