import { entityContracts } from '@tether/contracts';
import { defineEntity, type EntityDefinition } from './entity.ts';
import { codexSessionMachine, codexSessionRejections } from './codex-session.machine.ts';
import { harnessRejections, harnessMachine } from './harness.machine.ts';
import { laneRejections, laneMachine } from './lane.machine.ts';
import { leaseRejections, leaseDeadlines, leaseMachine } from './lease.machine.ts';
import { sessionRejections, sessionDeadlines, sessionMachine } from './session.machine.ts';
import { terminalRejections, terminalMachine } from './terminal.machine.ts';
import { shareRejections, shareDeadlines, shareMachine } from './share.machine.ts';
import { approvalDeadlines, approvalMachine, approvalRejections } from './approval.machine.ts';
import { credentialDeadlines, credentialMachine, credentialRejections } from './credential.machine.ts';
import { handoffDeadlines, handoffMachine, handoffRejections } from './handoff.machine.ts';
import { instanceDeadlines, instanceMachine, instanceRejections } from './instance.machine.ts';
import { recoveryMachine, recoveryRejections } from './recovery.machine.ts';
import { taskRunMachine, taskRunRejections } from './task-run.machine.ts';
import { liveSessionDeadlines, liveSessionMachine, liveSessionRejections } from './live-session.machine.ts';
import { policyMachine, policyRejections } from './policy.machine.ts';

export * from './entity.ts';
export * from './rejections.ts';
export * from './fold.ts';
export * from './decide.ts';
export * from './lease.machine.ts';
export * from './lane.machine.ts';
export * from './session.machine.ts';
export * from './terminal.machine.ts';
export * from './harness.machine.ts';
export * from './codex-session.machine.ts';
export * from './share.machine.ts';
export * from './approval.machine.ts';
export * from './credential.machine.ts';
export * from './handoff.machine.ts';
export * from './instance.machine.ts';
export * from './recovery.machine.ts';
export * from './task-run.machine.ts';
export * from './live-session.machine.ts';
export * from './policy.machine.ts';

export const lease = defineEntity({
  name: 'lease',
  machine: leaseMachine,
  contract: entityContracts.lease,
  deadlines: leaseDeadlines,
  rejections: leaseRejections,
});
export const lane = defineEntity({
  name: 'lane',
  machine: laneMachine,
  contract: entityContracts.lane,
  rejections: laneRejections,
});
export const session = defineEntity({
  name: 'session',
  machine: sessionMachine,
  contract: entityContracts.session,
  deadlines: sessionDeadlines,
  rejections: sessionRejections,
});
export const terminal = defineEntity({
  name: 'terminal',
  machine: terminalMachine,
  contract: entityContracts.terminal,
  rejections: terminalRejections,
});
export const harness = defineEntity({
  name: 'harness',
  machine: harnessMachine,
  contract: entityContracts.harness,
  rejections: harnessRejections,
});
export const codexSession = defineEntity({
  name: 'codexSession',
  machine: codexSessionMachine,
  contract: entityContracts.codexSession,
  rejections: codexSessionRejections,
});

export const share = defineEntity({
  name: 'share',
  machine: shareMachine,
  contract: entityContracts.share,
  deadlines: shareDeadlines,
  rejections: shareRejections,
});
export const approval = defineEntity({
  name: 'approval',
  machine: approvalMachine,
  contract: entityContracts.approval,
  deadlines: approvalDeadlines,
  rejections: approvalRejections,
});

export const credential = defineEntity({
  name: 'credential',
  machine: credentialMachine,
  contract: entityContracts.credential,
  deadlines: credentialDeadlines,
  rejections: credentialRejections,
});

export const handoff = defineEntity({
  name: 'handoff',
  machine: handoffMachine,
  contract: entityContracts.handoff,
  deadlines: handoffDeadlines,
  rejections: handoffRejections,
});

export const instance = defineEntity({
  name: 'instance',
  machine: instanceMachine,
  contract: entityContracts.instance,
  deadlines: instanceDeadlines,
  rejections: instanceRejections,
});

export const recovery = defineEntity({
  name: 'recovery',
  machine: recoveryMachine,
  contract: entityContracts.recovery,
  rejections: recoveryRejections,
});

export const taskRun = defineEntity({
  name: 'taskRun',
  machine: taskRunMachine,
  contract: entityContracts.taskRun,
  rejections: taskRunRejections,
});

export const liveSession = defineEntity({
  name: 'liveSession',
  machine: liveSessionMachine,
  contract: entityContracts.liveSession,
  deadlines: liveSessionDeadlines,
  rejections: liveSessionRejections,
});

export const policy = defineEntity({
  name: 'policy',
  machine: policyMachine,
  contract: entityContracts.policy,
  rejections: policyRejections,
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
  credential,
  handoff,
  instance,
  recovery,
  taskRun,
  liveSession,
  policy,
};
export * from './reactor.ts';
export * from './contexts.ts';
