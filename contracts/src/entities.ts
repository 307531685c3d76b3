import {
  codexSessionContract,
  harnessContract,
  laneContract,
  sessionContract,
  terminalContract,
} from './entities/control-plane.ts';
import type { EntityContract } from './entities/contract.ts';
import { leaseContract } from './entities/lease.ts';
import { approvalContract, shareContract } from './entities/sharing.ts';

export * from './entities/contract.ts';
export * from './entities/lease.ts';

export const entityContracts = {
  lease: leaseContract,
  lane: laneContract,
  session: sessionContract,
  terminal: terminalContract,
  harness: harnessContract,
  codexSession: codexSessionContract,
  share: shareContract,
  approval: approvalContract,
} satisfies Record<string, EntityContract>;
export type EntityNameOf = keyof typeof entityContracts;

/**
 * Whether an entity's events go to the audit trail: sharing, grants and control of terminals do.
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
} as const satisfies Record<EntityNameOf, boolean>;
