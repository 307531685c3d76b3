import {
  actorRef,
  TetherError,
  type Actor,
  type Command,
  type LiveLinkReply,
  type ParticipantLink,
} from '@tether/contracts';
import { isLiveSessionUp, liveSessionRejections } from '@tether/machines';
import { actorOf, liveSessionView, readActor, taskRunView, type ActorOf } from '@tether/projector';
import { settled, stepId, type ActorHost } from '@tether/runtime';
import type { SecretBox } from '../secrets.ts';
import type { shareSteps } from '../share-commands.ts';

type Steps = ReturnType<typeof shareSteps>;
export type LiveSession = ActorOf<'liveSession'>;

/**
 * A person's own link to a live session's share: the same participant (and token) every time they ask,
 * made with share.invite's steps under a command id derived from the share and the person, so enabling
 * twice never makes a second participant and a write grant lands on the link they already hold.
 */
export function personalLink(steps: Steps, cmd: Command, shareId: string, person: Actor): Promise<ParticipantLink> {
  const own = { ...cmd, id: stepId(`live-link:${shareId}`, actorRef(person)) };
  // The application command was authorized by the rules (an operator on a live session) before it ran.
  return steps.invite(own, shareId, actorRef(person), true);
}

/** tmate's read-only endpoints of a session (web ones only where allowed); empty for native sessions. */
export function readOnlyEndpoints(secrets: SecretBox, ls: LiveSession): Record<string, string> {
  const sealed = ls.context.sealedReadOnly;
  return sealed ? secrets.open<Record<string, string>>(sealed) : {};
}

/** The reply of enable, grantWrite and takeover: the run, its session, and the caller's link or endpoints (once). */
export async function liveReply(
  host: ActorHost,
  secrets: SecretBox,
  ls: LiveSession,
  link: ParticipantLink | null,
  endpoints: Record<string, string> | null,
): Promise<LiveLinkReply> {
  const run = await readActor(host, 'taskRun', ls.context.taskRunId);
  if (!run) throw new TetherError('NOT_FOUND', `task run ${ls.context.taskRunId} does not exist`);
  return {
    task_run: taskRunView(run, liveSessionView(ls, Date.now(), readOnlyEndpoints(secrets, ls))),
    link,
    endpoints,
  };
}

/** Waits (bounded) until the session is no longer starting: READY, or ended with its reason. */
export const liveSettled = async (host: ActorHost, id: string, withinMs: number): Promise<LiveSession> =>
  actorOf('liveSession', await settled(host, 'liveSession', id, ['starting'], withinMs));

/** Write grants are for a READY session: the machine's own words for why not (still starting, revoked, ended, in error). */
export function requireReady(ls: LiveSession, cmd: Command, verb = 'grantWrite'): void {
  if (ls.value === 'ready') return;
  const state = String(ls.value);
  const reason = liveSessionRejections.states?.[state];
  const input = {
    id: ls.entityId,
    state,
    context: ls.context,
    event: { type: verb, at: new Date().toISOString(), actor: cmd.actor, data: {} },
  };
  const r =
    typeof reason === 'function'
      ? reason(input)
      : { reason: 'LIVE_SESSION_NOT_READY', message: `live session ${ls.entityId} is ${state}` };
  throw new TetherError('NOT_ALLOWED', r.message, { reason: r.reason });
}

export const isUp = (ls: LiveSession | undefined) => !!ls && isLiveSessionUp(ls.value);
