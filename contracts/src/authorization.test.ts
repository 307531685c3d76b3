import { describe, expect, it } from 'vitest';
import { AUTHORIZATION_RULES, authorize, ownerField } from './authorization.ts';
import type { Actor } from './envelope.ts';
import { ActorRef, type Role } from './identity.ts';

// The authorization table as a table: who (role, actor) sends which command to whose target, and
// whether it goes on (null) or which rule refuses it.

const actor = (ref: string): Actor => ActorRef.parse(ref);

interface Row {
  who: string;
  role: Role;
  command: string;
  /** Whose the target is (a share's owner, an approval's requester, a credential's holder). */
  owner?: string;
  refusedBy: string | null;
  /** Who may watch the target terminal (recording.play). */
  watchers?: string[];
}

const row = (who: string, role: Role, command: string, owner: string | undefined, refusedBy: string | null): Row => ({
  who,
  role,
  command,
  owner,
  refusedBy,
});

const SHARE_MANAGEMENT = ['revoke', 'kick', 'extend', 'grantWrite', 'revokeWrite', 'switch', 'invite'];

const TABLE: Row[] = [
  // A share's access is changed by its owner or an operator only.
  ...SHARE_MANAGEMENT.flatMap((verb) => [
    row('human:alice', 'member', `share.${verb}`, 'human:alice', null),
    row('human:bob', 'member', `share.${verb}`, 'human:alice', 'share-owner-or-operator'),
    row('human:ops', 'operator', `share.${verb}`, 'human:alice', null),
    row('service:ci', 'service', `share.${verb}`, 'human:alice', 'share-owner-or-operator'),
    // A viewer changes nobody's access, not even on a share that names it as owner.
    row('human:bob', 'viewer', `share.${verb}`, 'human:alice', 'viewers-watch-only'),
    row('human:bob', 'viewer', `share.${verb}`, 'human:bob', 'viewers-watch-only'),
  ]),
  // Same id, other kind: not the owner.
  row('human:codex-1', 'member', 'share.revoke', 'ai:codex-1', 'share-owner-or-operator'),
  // Creating a share is up to the share policy, not to ownership.
  row('human:bob', 'member', 'share.create', undefined, null),

  // An approval is decided by an operator other than the requester.
  ...['approval'].flatMap((entity) =>
    ['approve', 'deny'].flatMap((verb) => [
      row('human:ops', 'operator', `${entity}.${verb}`, 'ai:codex-1', null),
      row('human:ops', 'operator', `${entity}.${verb}`, 'human:ops', 'four-eyes'),
      row('human:bob', 'member', `${entity}.${verb}`, 'ai:codex-1', 'operators-decide-approvals'),
      row('human:bob', 'member', `${entity}.${verb}`, 'human:bob', 'operators-decide-approvals'),
      row('service:ci', 'service', `${entity}.${verb}`, 'ai:codex-1', 'operators-decide-approvals'),
      row('ai:codex-1', 'agent', `${entity}.${verb}`, 'human:alice', 'agents-act-where-allowed'),
      row('human:bob', 'viewer', `${entity}.${verb}`, 'ai:codex-1', 'viewers-watch-only'),
    ]),
  ),

  // Crash recovery is an operator's: leaving safe mode, cleaning what needed review, dismissing the summary.
  ...['leaveSafeMode', 'cleanReview', 'dismiss'].flatMap((verb) => [
    row('human:ops', 'operator', `recovery.${verb}`, undefined, null),
    row('human:bob', 'member', `recovery.${verb}`, undefined, 'operators-run-recovery'),
    row('service:ci', 'service', `recovery.${verb}`, undefined, 'operators-run-recovery'),
    row('ai:codex-1', 'agent', `recovery.${verb}`, undefined, 'agents-act-where-allowed'),
  ]),

  // The share policy: an operator reads and reloads it; nobody else.
  ...['reload', 'read'].flatMap((verb) => [
    row('human:ops', 'operator', `policy.${verb}`, undefined, null),
    row('human:bob', 'member', `policy.${verb}`, undefined, 'operators-manage-policy'),
    row('service:ci', 'service', `policy.${verb}`, undefined, 'operators-manage-policy'),
    row('ai:codex-1', 'agent', `policy.${verb}`, undefined, 'agents-act-where-allowed'),
  ]),

  // Task runs and their live sessions: an operator starts, controls and shares them; nobody else.
  ...[
    'taskRun.run',
    'taskRun.pause',
    'taskRun.takeover',
    'taskRun.release',
    'taskRun.message',
    'liveSession.enable',
    'liveSession.grantWrite',
    'liveSession.revoke',
  ].flatMap((command) => [
    row('human:ops', 'operator', command, undefined, null),
    row('human:bob', 'member', command, undefined, 'operators-control-task-runs'),
    row('service:ci', 'service', command, undefined, 'operators-control-task-runs'),
    row('ai:codex-1', 'agent', command, undefined, 'agents-act-where-allowed'),
  ]),

  // A recording is played by an operator, or by someone who may watch its terminal, whatever their role.
  row('human:ops', 'operator', 'recording.play', undefined, null),
  ...(['member', 'viewer', 'service'] as const).flatMap((role) => [
    { ...row('human:bob', role, 'recording.play', undefined, null), watchers: ['human:alice', 'human:bob'] },
    { ...row('human:bob', role, 'recording.play', undefined, 'watchers-play-recordings'), watchers: ['human:alice'] },
  ]),
  { ...row('ai:codex-1', 'agent', 'recording.play', undefined, null), watchers: ['ai:codex-1'] },
  row('ai:codex-1', 'agent', 'recording.play', undefined, 'watchers-play-recordings'),

  // Credentials: operators issue them; a holder or an operator revokes one.
  row('human:ops', 'operator', 'credential.create', undefined, null),
  row('human:bob', 'member', 'credential.create', undefined, 'operators-issue-credentials'),
  row('service:ci', 'service', 'credential.create', undefined, 'operators-issue-credentials'),
  row('ai:codex-1', 'agent', 'credential.create', undefined, 'agents-act-where-allowed'),
  row('human:bob', 'viewer', 'credential.create', undefined, 'viewers-watch-only'),
  row('human:bob', 'member', 'credential.revoke', 'human:bob', null),
  row('human:bob', 'member', 'credential.revoke', 'human:alice', 'own-credential-or-operator'),
  row('human:ops', 'operator', 'credential.read', undefined, null),
  row('human:bob', 'member', 'credential.read', undefined, 'operators-read-credentials'),
  row('service:ci', 'service', 'credential.read', undefined, 'operators-read-credentials'),
  row('service:ci', 'service', 'credential.revoke', 'service:ci', null),
  row('service:ci', 'service', 'credential.revoke', 'human:alice', 'own-credential-or-operator'),
  row('human:ops', 'operator', 'credential.revoke', 'human:alice', null),
  row('human:bob', 'viewer', 'credential.revoke', 'human:alice', 'viewers-watch-only'),

  // A viewer sends no command at all.
  ...[
    'lane.create',
    'lane.attach',
    'lane.cleanup',
    'session.ensure',
    'terminal.spawn',
    'terminal.close',
    'share.create',
    'lease.create',
    'handoff.request',
  ].map((command) => row('human:bob', 'viewer', command, undefined, 'viewers-watch-only')),

  // Agents act only where allowed: their sessions and terminals, shares (then the policy), handoffs.
  ...[
    'session.ensure',
    'session.heartbeat',
    'session.detach',
    'terminal.spawn',
    'terminal.close',
    'share.create',
    'handoff.request',
    'handoff.accept',
    'handoff.cancel',
  ].map((command) => row('ai:codex-1', 'agent', command, undefined, null)),
  ...['lane.create', 'lane.cleanup', 'lease.create', 'credential.revoke'].map((command) =>
    row('ai:codex-1', 'agent', command, 'ai:codex-1', 'agents-act-where-allowed'),
  ),
  // An agent manages its own shares, not another's.
  ...['share.revoke', 'share.grantWrite', 'share.extend', 'share.invite', 'share.kick'].flatMap((command) => [
    row('ai:codex-1', 'agent', command, 'ai:codex-1', null),
    row('ai:codex-1', 'agent', command, 'human:alice', 'share-owner-or-operator'),
  ]),

  // Members, services and operators run the control plane.
  ...(['member', 'service', 'operator'] as const).flatMap((role) =>
    ['lane.create', 'session.ensure', 'terminal.spawn', 'lease.create'].map((command) =>
      row(role === 'service' ? 'service:ci' : 'human:alice', role, command, undefined, null),
    ),
  ),
];

const decide = (r: Row) => {
  const [entity, verb] = r.command.split('.') as [string, string];
  return authorize({
    principal: { actor: actor(r.who), role: r.role, credentialId: 'cred-1' },
    entity,
    verb,
    owner: r.owner === undefined ? undefined : actor(r.owner),
    watchers: r.watchers?.map(actor),
  });
};

describe('the authorization table', () => {
  it.each(TABLE)('$who ($role) sends $command, the target being $owner’s → refused by $refusedBy', (r) => {
    const refusal = decide(r);
    expect(refusal?.rule ?? null).toBe(r.refusedBy);
  });

  it('a viewer cannot revoke someone else’s share', () => {
    const refusal = decide(row('human:bob', 'viewer', 'share.revoke', 'human:alice', 'viewers-watch-only'));
    expect(refusal).toEqual({
      rule: 'viewers-watch-only',
      message: expect.stringMatching(/^human:bob \(viewer\) may not share\.revoke \(rule viewers-watch-only\): /),
    });
  });

  it('an approval is decided by an operator other than the requester', () => {
    expect(decide(row('human:ops', 'operator', 'approval.approve', 'human:alice', null))).toBeUndefined();
    expect(decide(row('human:ops', 'operator', 'approval.approve', 'human:ops', 'four-eyes'))?.rule).toBe('four-eyes');
    expect(decide(row('human:bob', 'member', 'approval.approve', 'human:alice', 'x'))?.rule).toBe(
      'operators-decide-approvals',
    );
    // Same id, other kind: another actor than the requester, so four eyes are satisfied.
    expect(decide(row('human:codex-1', 'operator', 'approval.deny', 'ai:codex-1', null))).toBeUndefined();
  });

  it('a refusal names who, in which role, what, and what the rule says', () => {
    const refusal = decide(row('human:bob', 'member', 'share.kick', 'human:alice', 'share-owner-or-operator'))!;
    const rule = AUTHORIZATION_RULES.find((r) => r.id === refusal.rule)!;
    expect(refusal.message).toBe(`human:bob (member) may not share.kick (rule share-owner-or-operator): ${rule.says}`);
  });

  it('every rule refuses somewhere in the table, and each rule id is unique', () => {
    const ids = AUTHORIZATION_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(TABLE.map((r) => r.refusedBy).filter(Boolean))).toEqual(new Set(ids));
  });

  it.each([
    ['share', 'revoke', 'owner'],
    ['share', 'kick', 'owner'],
    ['share', 'grantWrite', 'owner'],
    ['share', 'extend', 'owner'],
    ['approval', 'approve', 'requestedBy'],
    ['approval', 'deny', 'requestedBy'],
    ['credential', 'revoke', 'actor'],
    ['share', 'create', undefined],
    ['credential', 'create', undefined],
    ['lane', 'create', undefined],
  ])('ownerField(%s, %s) is %s: where the dispatcher reads whose the target is', (entity, verb, field) => {
    expect(ownerField(entity, verb)).toBe(field);
  });
});
