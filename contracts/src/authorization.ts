import { type Actor, sameActor } from './envelope.ts';
import { TetherError } from './tether-error.ts';
import { actorRef, type Principal } from './identity.ts';

// Who may send which command: decided here and only here (the Dispatcher asks before anything runs),
// as a table of rules, each with an id a refusal names. Reads are open to every valid credential.

/** What a rule looks at: the caller, the command, and whose the target is (when a rule needs it). */
export interface AuthorizationFacts {
  principal: Principal;
  entity: string;
  verb: string;
  /** The target's owner: a share's owner, an approval's requester, a credential's holder. */
  owner?: Actor;
  /** Who may watch the target terminal (its shares' owners and participants, its live session's grantees): recording.play. */
  watchers?: Actor[];
}

export interface AuthorizationRule {
  id: string;
  /** What the rule says, for the README and the refusal. */
  says: string;
  applies(f: AuthorizationFacts): boolean;
  allows(f: AuthorizationFacts): boolean;
}

const is = (f: AuthorizationFacts, entity: string, ...verbs: string[]) => f.entity === entity && verbs.includes(f.verb);
const operator = (f: AuthorizationFacts) => f.principal.role === 'operator';
/** Playing a recording is no command: the role rules for commands leave it to watchers-play-recordings. */
const isPlay = (f: AuthorizationFacts) => is(f, 'recording', 'play');
const owns = (f: AuthorizationFacts) => f.owner !== undefined && sameActor(f.owner, f.principal.actor);

/** Share verbs that change someone's access: the share's owner or an operator only. */
const SHARE_MANAGEMENT = ['revoke', 'kick', 'extend', 'grantWrite', 'revokeWrite', 'switch', 'invite'];

/** What an agent may send: work in the lanes it is given, share where the policy allows (and manage its own shares), hand off. */
const AGENT_COMMANDS = new Set([
  'session.ensure',
  'session.heartbeat',
  'session.detach',
  'terminal.spawn',
  'terminal.close',
  'share.create',
  ...SHARE_MANAGEMENT.map((v) => `share.${v}`),
  'handoff.request',
  'handoff.accept',
  'handoff.cancel',
  'handoff.environment',
  'share.links',
]);

export const AUTHORIZATION_RULES: readonly AuthorizationRule[] = [
  {
    id: 'viewers-watch-only',
    says: 'a viewer sends no command: viewers watch, and type only where a share grants them write',
    applies: (f) => f.principal.role === 'viewer' && !isPlay(f),
    allows: () => false,
  },
  {
    id: 'agents-act-where-allowed',
    says: `an agent sends only ${[...AGENT_COMMANDS].join(', ')}; sharing is then up to the share policy`,
    applies: (f) => f.principal.role === 'agent' && !isPlay(f),
    allows: (f) => AGENT_COMMANDS.has(`${f.entity}.${f.verb}`),
  },
  {
    id: 'operators-issue-credentials',
    says: 'only an operator creates credentials',
    applies: (f) => is(f, 'credential', 'create'),
    allows: operator,
  },
  {
    id: 'operators-read-credentials',
    says: 'only an operator reads credentials through the entity routes (GET /v1/credentials shows anyone their own)',
    applies: (f) => is(f, 'credential', 'read'),
    allows: operator,
  },
  {
    id: 'own-credential-or-operator',
    says: 'a credential is revoked by its holder or an operator',
    applies: (f) => is(f, 'credential', 'revoke'),
    allows: (f) => operator(f) || owns(f),
  },
  {
    id: 'share-owner-or-operator',
    says: `only a share's owner or an operator may ${SHARE_MANAGEMENT.join(', ')} it`,
    applies: (f) => is(f, 'share', ...SHARE_MANAGEMENT),
    allows: (f) => operator(f) || owns(f),
  },
  {
    id: 'operators-decide-approvals',
    says: 'only an operator approves or denies',
    applies: (f) => is(f, 'approval', 'approve', 'deny'),
    allows: operator,
  },
  {
    id: 'operators-run-recovery',
    says: 'only an operator leaves safe mode, cleans orphans that need review, or dismisses a recovery summary',
    applies: (f) => f.entity === 'recovery',
    allows: operator,
  },
  {
    id: 'operators-control-task-runs',
    says: 'only an operator starts a task run, controls it (pause, resume, takeover, release, cancel, message) or manages its live session',
    applies: (f) => f.entity === 'taskRun' || f.entity === 'liveSession',
    allows: operator,
  },
  {
    id: 'operators-manage-policy',
    says: 'only an operator reads or reloads the share policy',
    applies: (f) => f.entity === 'policy',
    allows: operator,
  },
  {
    id: 'watchers-play-recordings',
    says: "a terminal's recording is played by an operator, or by someone allowed to watch that terminal (the owner or an invited participant of a share of it, a live session's grantee)",
    applies: isPlay,
    allows: (f) => operator(f) || (f.watchers ?? []).some((w) => sameActor(w, f.principal.actor)),
  },
  {
    id: 'four-eyes',
    says: 'an approval is decided by someone other than its requester',
    applies: (f) => is(f, 'approval', 'approve', 'deny'),
    allows: (f) => !owns(f),
  },
];

/** Where each entity keeps whose it is, for the rules that ask: the Dispatcher reads it only for those commands. */
const OWNER_FIELD: Record<string, string> = {
  share: 'owner',
  approval: 'requestedBy',
  credential: 'actor',
};
const OWNED_COMMANDS = new Set([
  ...SHARE_MANAGEMENT.map((v) => `share.${v}`),
  'approval.approve',
  'approval.deny',
  'credential.revoke',
]);

/** The context field holding the target's owner when a rule for this command looks at it. */
export const ownerField = (entity: string, verb: string): string | undefined =>
  OWNED_COMMANDS.has(`${entity}.${verb}`) ? OWNER_FIELD[entity] : undefined;

export interface Refusal {
  rule: string;
  message: string;
}

/** The first rule that applies and does not allow, or undefined: the command may go on. */
export function authorize(f: AuthorizationFacts): Refusal | undefined {
  const rule = AUTHORIZATION_RULES.find((r) => r.applies(f) && !r.allows(f));
  if (!rule) return undefined;
  const who = `${actorRef(f.principal.actor)} (${f.principal.role})`;
  return { rule: rule.id, message: `${who} may not ${f.entity}.${f.verb} (rule ${rule.id}): ${rule.says}` };
}

/** FORBIDDEN, naming the rule, unless the rules allow it: for commands (the Dispatcher) and the few writes that are not one (a harness check). */
export function assertAllowed(f: AuthorizationFacts): void {
  const refusal = authorize(f);
  if (refusal) throw new TetherError('FORBIDDEN', refusal.message, { reason: refusal.rule });
}
