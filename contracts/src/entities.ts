import { identityApplicationCommands } from './api/identity.ts';
import { handoffApplicationCommands } from './api/handoff.ts';
import { shareApplicationCommands } from './api/sharing.ts';
import {
  codexSessionContract,
  harnessContract,
  laneContract,
  sessionContract,
  sessionEnsure,
  terminalContract,
} from './entities/control-plane.ts';
import type { EntityContract, VerbContract } from './entities/contract.ts';
import { credentialContract } from './entities/identity.ts';
import { handoffContract } from './entities/handoff.ts';
import { leaseContract } from './entities/lease.ts';
import { approvalContract, shareContract } from './entities/sharing.ts';
import { instanceContract, recoveryContract } from './entities/recovery.ts';
import { liveSessionContract, taskRunContract } from './entities/live.ts';
import { policyContract } from './entities/policy.ts';
import { liveSessionApplicationCommands, taskRunApplicationCommands } from './api/live.ts';
import { policyApplicationCommands } from './api/policy.ts';

export * from './entities/contract.ts';
export * from './entities/lease.ts';
export * from './entities/policy.ts';

export const entityContracts = {
  lease: leaseContract,
  lane: laneContract,
  session: sessionContract,
  terminal: terminalContract,
  harness: harnessContract,
  codexSession: codexSessionContract,
  share: shareContract,
  approval: approvalContract,
  credential: credentialContract,
  handoff: handoffContract,
  instance: instanceContract,
  recovery: recoveryContract,
  taskRun: taskRunContract,
  liveSession: liveSessionContract,
  policy: policyContract,
} satisfies Record<string, EntityContract>;
export type EntityNameOf = keyof typeof entityContracts;

/**
 * Commands that span entities, run by the capabilities' application services through the Dispatcher
 * (`Capability.commands`, keyed "entity.verb"): each is the public way to the internal verbs it runs.
 * One takes the place of an entity verb of the same name (share.invite).
 */
export const applicationCommands = {
  session: { ensure: sessionEnsure },
  share: shareApplicationCommands,
  credential: identityApplicationCommands,
  handoff: handoffApplicationCommands,
  taskRun: taskRunApplicationCommands,
  liveSession: liveSessionApplicationCommands,
  policy: policyApplicationCommands,
} satisfies Partial<Record<EntityNameOf, Record<string, VerbContract>>>;

/** A command that callers outside tether may send (NATS, HTTP, the CLI). */
export interface PublicCommand {
  entity: EntityNameOf;
  verb: string;
  contract: VerbContract;
  /** Run by an application command rather than straight by the entity's machine. */
  application: boolean;
}

/**
 * Every command the front door lets in: each entity verb that is not internal, and each application
 * command (which replaces an entity verb of the same name, internal or not). The OpenAPI document lists
 * exactly these; the Dispatcher refuses the rest.
 */
export function publicCommands(): PublicCommand[] {
  const apps: Partial<Record<string, Record<string, VerbContract>>> = applicationCommands;
  return (Object.entries(entityContracts) as [EntityNameOf, EntityContract][]).flatMap(([entity, verbs]) => {
    const own = apps[entity] ?? {};
    return [
      ...Object.entries(verbs)
        .filter(([verb, contract]) => !contract.internal && !Object.hasOwn(own, verb))
        .map(([verb, contract]) => ({ entity, verb, contract, application: false })),
      ...Object.entries(own).map(([verb, contract]) => ({ entity, verb, contract, application: true })),
    ];
  });
}

/**
 * Whether an entity's events go to the audit trail: sharing, grants, handoffs and control of terminals do.
 * Every entity of the registry must say, so the audited list cannot name one that does not exist.
 */
export const auditedEntities = {
  lease: false,
  lane: true,
  session: true,
  terminal: true,
  harness: false,
  codexSession: false,
  share: true,
  approval: true,
  credential: true,
  handoff: true,
  // A heartbeat every few seconds is no security event; what a crash led to is, on its recovery run.
  instance: false,
  recovery: true,
  // Every control of a run and every grant of its live session is a security event; heartbeats are not.
  taskRun: true,
  liveSession: true,
  // Which rules decide shares and handoffs, and who reloaded them: a control action.
  policy: true,
} as const satisfies Record<EntityNameOf, boolean>;

/** Events of audited entities that are no security event: a live session's worker heartbeat every few seconds. */
export const unauditedEvents: ReadonlySet<string> = new Set(['liveSession.heartbeat']);
