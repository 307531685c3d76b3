import { entityContracts } from '@tether/contracts';
import { defineEntity, type EntityDefinition } from './entity.ts';
import { codexSessionMachine, explainCodexSession } from './codex-session.machine.ts';
import { explainHarness, harnessMachine } from './harness.machine.ts';
import { explainLane, laneMachine } from './lane.machine.ts';
import { explainLease, leaseDeadlines, leaseMachine } from './lease.machine.ts';
import { explainSession, sessionDeadlines, sessionMachine } from './session.machine.ts';
import { explainTerminal, terminalMachine } from './terminal.machine.ts';
import { explainShare, shareDeadlines, shareMachine } from './share.machine.ts';
import { approvalDeadlines, approvalMachine, explainApproval } from './approval.machine.ts';

export * from './entity.ts';
export * from './lease.machine.ts';
export * from './lane.machine.ts';
export * from './session.machine.ts';
export * from './terminal.machine.ts';
export * from './harness.machine.ts';
export * from './codex-session.machine.ts';
export * from './share.machine.ts';
export * from './approval.machine.ts';

export const lease = defineEntity({
  name: 'lease',
  machine: leaseMachine,
  contract: entityContracts.lease,
  deadlines: leaseDeadlines,
  explain: explainLease,
});
export const lane = defineEntity({
  name: 'lane',
  machine: laneMachine,
  contract: entityContracts.lane,
  explain: explainLane,
});
export const session = defineEntity({
  name: 'session',
  machine: sessionMachine,
  contract: entityContracts.session,
  deadlines: sessionDeadlines,
  explain: explainSession,
});
export const terminal = defineEntity({
  name: 'terminal',
  machine: terminalMachine,
  contract: entityContracts.terminal,
  explain: explainTerminal,
});
export const harness = defineEntity({
  name: 'harness',
  machine: harnessMachine,
  contract: entityContracts.harness,
  explain: explainHarness,
});
export const codexSession = defineEntity({
  name: 'codexSession',
  machine: codexSessionMachine,
  contract: entityContracts.codexSession,
  explain: explainCodexSession,
});

export const share = defineEntity({
  name: 'share',
  machine: shareMachine,
  contract: entityContracts.share,
  deadlines: shareDeadlines,
  explain: explainShare,
});
export const approval = defineEntity({
  name: 'approval',
  machine: approvalMachine,
  contract: entityContracts.approval,
  deadlines: approvalDeadlines,
  explain: explainApproval,
});

/** Every entity the runtime hosts, by name. */
export const registry: Record<string, EntityDefinition> = {
  lease,
  lane,
  session,
  terminal,
  harness,
  codexSession,
  share,
  approval,
};
export * from './reactor.ts';
export * from './contexts.ts';
