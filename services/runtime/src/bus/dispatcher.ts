import type { Command, CommandAccepted } from '@tether/contracts';
import type { ActorHost } from '../actor/host.ts';

/** A command that spans entities (e.g. session.ensure): it runs other commands through the host. */
export type ApplicationCommand = (cmd: Command) => Promise<CommandAccepted>;

/**
 * Where a command goes: an application command if one is registered for "entity.verb",
 * else straight to the entity's actor. NATS and HTTP both dispatch through here.
 */
export class Dispatcher {
  constructor(
    readonly host: ActorHost,
    private readonly application: Record<string, ApplicationCommand> = {},
  ) {}

  dispatch(cmd: Command): Promise<CommandAccepted> {
    const app = this.application[`${cmd.entity}.${cmd.verb}`];
    return app ? app(cmd) : this.host.execute(cmd);
  }

  /** True when the command is handled by an application command (it may create what it touches). */
  isApplication(entity: string, verb: string): boolean {
    return `${entity}.${verb}` in this.application;
  }
}
