import type { CredentialContext, LeaseContext, PolicyContext } from '@tether/contracts';
import type { ApprovalContext } from './approval.machine.ts';
import type { CodexSessionContext } from './codex-session.machine.ts';
import type { HandoffContext } from './handoff.machine.ts';
import type { HarnessContext } from './harness.machine.ts';
import type { InstanceContext } from './instance.machine.ts';
import type { RecoveryContext } from './recovery.machine.ts';
import type { LaneContext } from './lane.machine.ts';
import type { SessionContext } from './session.machine.ts';
import type { ShareContext } from './share.machine.ts';
import type { TerminalContext } from './terminal.machine.ts';
import type { TaskRunContext } from './task-run.machine.ts';
import type { LiveSessionContext } from './live-session.machine.ts';

/** Each entity's machine context by entity name: what typed actor reads (`readActor('lane', …)`) return. */
export interface EntityContexts {
  lease: LeaseContext;
  lane: LaneContext;
  session: SessionContext;
  terminal: TerminalContext;
  harness: HarnessContext;
  codexSession: CodexSessionContext;
  share: ShareContext;
  approval: ApprovalContext;
  credential: CredentialContext;
  handoff: HandoffContext;
  instance: InstanceContext;
  recovery: RecoveryContext;
  taskRun: TaskRunContext;
  liveSession: LiveSessionContext;
  policy: PolicyContext;
}

export type EntityName = keyof EntityContexts;
