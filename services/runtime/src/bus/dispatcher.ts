import {
  assertAllowed,
  ownerField,
  TetherError,
  type Actor,
  type Command,
  type CommandAccepted,
} from '@tether/contracts';
import type { ActorHost } from '../actor/host.ts';
import type { CommandLedger } from './command-ledger.ts';

/** A command that spans entities (e.g. session.ensure): it runs other commands through the host. */
export type ApplicationCommand = ((cmd: Command) => Promise<CommandAccepted>) & {
  /**
   * Its reply carries a secret (a participant token): the ledger keeps the id but not the reply, and
   * a resend runs the command again, which must then answer the same from its idempotent steps.
   */
  secretReply?: true;
};

/** Marks an application command whose reply must not be stored (see ApplicationCommand.secretReply). */
export const withSecretReply = (command: (cmd: Command) => Promise<CommandAccepted>): ApplicationCommand =>
  Object.assign(command, { secretReply: true as const });

/**
 * Holds or refuses commands from outside while tether is not ready for them (a recovery run restoring
 * terminals, safe mode); calls `next` when the command may run, in the order they may run.
 */
export type CommandGate = (cmd: Command, next: () => Promise<CommandAccepted>) => Promise<CommandAccepted>;

/**
 * Where a command goes: an application command if one is registered for "entity.verb",
 * else straight to the entity's actor. NATS and HTTP both dispatch through here.
 */
export class Dispatcher {
  private gate?: CommandGate;

  constructor(
    readonly host: ActorHost,
    private readonly application: Record<string, ApplicationCommand> = {},
    /** Answers resent command ids from outside; without it, only the entity's history does. */
    private readonly ledger?: CommandLedger,
  ) {}

  dispatch(cmd: Command): Promise<CommandAccepted> {
    const app = this.applicationFor(cmd.entity, cmd.verb);
    return app ? app(cmd) : this.host.execute(cmd);
  }

  /**
   * The front door for commands from outside tether (NATS subjects, HTTP): nobody outside speaks as
   * the system actor, and verbs that only tether's own services send (worker reports, timers, the
   * steps of an application command) are refused, so no caller can fake a report or skip a gate.
   * A resent command id is answered from the ledger, before any gate: the world may have moved on.
   */
  async accept(cmd: Command): Promise<CommandAccepted> {
    const app = this.applicationFor(cmd.entity, cmd.verb);
    const contract = this.host.verbContract(cmd.entity, cmd.verb);
    if (!app && !contract) return this.dispatch(cmd); // an unknown command: the host answers UNKNOWN_COMMAND
    if (cmd.actor.kind === 'system') {
      throw new TetherError(
        'NOT_ALLOWED',
        `the system actor is tether's own; send ${cmd.entity}.${cmd.verb} as a human, ai or service actor`,
        { reason: 'SYSTEM_ACTOR' },
      );
    }
    if (!app && contract?.internal) {
      throw new TetherError(
        'NOT_ALLOWED',
        `${cmd.entity}.${cmd.verb} is sent only by tether itself (${contract.summary})`,
        { reason: 'INTERNAL_VERB' },
      );
    }
    await this.authorize(cmd);
    const seen = await this.ledger?.recall(cmd);
    if (seen?.reply) return seen.reply;
    const reply = await (this.gate ? this.gate(cmd, () => this.dispatch(cmd)) : this.dispatch(cmd));
    if (seen) return { ...reply, duplicate: true }; // a secret reply, answered again by the command's idempotent steps
    if (!reply.duplicate) await this.ledger?.record(cmd, reply, { withReply: !app?.secretReply });
    return reply;
  }

  /**
   * Who may send what is decided by the rules of contracts/authorization.ts: a command from outside
   * carries the principal its credential proved (its actor is the principal's), and a refusal is
   * FORBIDDEN with the rule that refused, before anything is written.
   */
  private async authorize(cmd: Command): Promise<void> {
    const principal = cmd.principal;
    if (!principal)
      throw new TetherError('UNAUTHENTICATED', `${cmd.entity}.${cmd.verb} came without a credential`, {
        reason: 'NO_CREDENTIAL',
      });
    const field = ownerField(cmd.entity, cmd.verb);
    const owner = field && cmd.entityId ? await this.ownerOf(cmd.entity, cmd.entityId, field) : undefined;
    assertAllowed({ principal, entity: cmd.entity, verb: cmd.verb, owner });
  }

  /**
   * Whose the target is (a share's owner, an approval's requester, a credential's holder); undefined if
   * it does not exist. An owner never changes, so any copy of the target will do: no wait behind the
   * commands queued for it.
   */
  private async ownerOf(entity: string, entityId: string, field: string): Promise<Actor | undefined> {
    const context = (await this.host.stateAt(entity, entityId, 0))?.context as Record<string, unknown> | undefined;
    return context?.[field] as Actor | undefined;
  }

  /** Sets the one gate commands from outside pass (after authorization, before they run). */
  setGate(gate: CommandGate): void {
    this.gate = gate;
  }

  /** True when the command is handled by an application command (it may create what it touches). */
  isApplication(entity: string, verb: string): boolean {
    return this.applicationFor(entity, verb) !== undefined;
  }

  private applicationFor(entity: string, verb: string): ApplicationCommand | undefined {
    const key = `${entity}.${verb}`;
    return Object.hasOwn(this.application, key) ? this.application[key] : undefined;
  }
}
