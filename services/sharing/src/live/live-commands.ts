import { createHash } from 'node:crypto';
import {
  parseData,
  Token,
  actorRef,
  GrantLiveWriteBody,
  LiveEnableBody,
  parseActorRef,
  sameActor,
  TakeoverBody,
  TetherError,
  type Actor,
  type Command,
  type CommandAccepted,
  type ParticipantLink,
} from '@tether/contracts';
import { isEndedTaskRun } from '@tether/machines';
import { liveSessionIdOf, readActor } from '@tether/projector';
import { commandSteps, withSecretReply, type ActorHost, type ApplicationCommand } from '@tether/runtime';
import type { SecretBox } from '../secrets.ts';
import type { shareSteps } from '../share-commands.ts';
import { liveReply, liveSettled, personalLink, requireReady, type LiveSession } from './live-links.ts';
import type { LiveSettings } from './live-settings.ts';

export interface LiveCommandDeps {
  host: ActorHost;
  secrets: SecretBox;
  steps: ReturnType<typeof shareSteps>;
  settings: LiveSettings;
}

/** What a command that wrote nothing new answers: the entity as it is. */
const asIs = (cmd: Command, ls: LiveSession): CommandAccepted => ({
  ok: true,
  commandId: cmd.id,
  entity: 'liveSession',
  entityId: ls.entityId,
  seq: ls.version,
  streamSeq: ls.streamSeq,
  state: String(ls.value),
  correlationId: cmd.correlationId,
  duplicate: false,
});

/** A tmate grant's participant id: tmate has no participants, so one per person, derived from who they are. */
const tmateParticipant = (to: Actor) => `tmate-${createHash('sha256').update(actorRef(to)).digest('hex').slice(0, 12)}`;

/**
 * liveSession.enable, liveSession.grantWrite and taskRun.takeover: each answers with the task run, its
 * live session and the caller's own link (read-only on enable, read-write on a grant), shown once; the
 * ledger keeps the id of the command, never its reply.
 */
export function liveCommands(deps: LiveCommandDeps): Record<string, ApplicationCommand> {
  const { host, secrets, steps, settings } = deps;
  const step = (cmd: Command, entity: string, verb: string, entityId: string, data: Record<string, unknown>) =>
    commandSteps(host, cmd)(entity, verb, entityId, data);

  const run = async (runId: string) => {
    const r = await readActor(host, 'taskRun', runId);
    if (!r) throw new TetherError('NOT_FOUND', `task run ${runId} does not exist`);
    return r;
  };

  /** The session a grant names: its id, or its task run's id. */
  const sessionOf = async (cmd: Command): Promise<LiveSession> => {
    const id = cmd.entityId;
    if (!id)
      throw new TetherError(
        'INVALID_COMMAND',
        `liveSession.${cmd.verb} needs the live session (or task run) id as entityId`,
        {
          issues: [{ path: ['entityId'], message: 'required' }],
        },
      );
    // A run id as long as an id may be has no live session id (one longer than a subject token): not found.
    const ofRun = liveSessionIdOf(id);
    const ls =
      (await readActor(host, 'liveSession', id)) ??
      (Token.safeParse(ofRun).success ? await readActor(host, 'liveSession', ofRun) : undefined);
    if (!ls)
      throw new TetherError(
        'NOT_FOUND',
        `${id} names no live session nor a task run that has one; enable it with liveSession.enable {task_run_id}`,
      );
    return ls;
  };

  /**
   * A write grant for `to` in a READY session: native, their own link (made now if they have none) gets
   * write until the grant expires; tmate, the session's read-write endpoints, unsealed for the grantee only.
   */
  const grant = async (cmd: Command, ls: LiveSession, to: Actor, ttlMs: number) => {
    requireReady(ls, cmd);
    const { shareId, provider } = ls.context;
    if (!shareId) throw new TetherError('NOT_ALLOWED', `live session ${ls.entityId} has no share yet`);
    if (provider === 'tmate') {
      if (!sameActor(to, cmd.actor))
        throw new TetherError(
          'INVALID_COMMAND',
          `live session ${ls.entityId} runs on tmate, whose read-write endpoints are one for everyone: only the person who will type takes the grant (send it as ${actorRef(to)}, without "to")`,
          { issues: [{ path: ['to'], message: 'tmate grants are for the caller only' }] },
        );
      const sealed = (await readActor(host, 'share', shareId))?.context.sealedLinks;
      const links = sealed ? secrets.open<Record<string, string>>(sealed) : {};
      const endpoints = Object.fromEntries(
        Object.entries(links).filter(([k]) => k === 'ssh_rw' || (k === 'web_rw' && ls.context.allowWeb)),
      );
      if (!endpoints.ssh_rw)
        throw new TetherError(
          'UNAVAILABLE',
          `the tmate session of live session ${ls.entityId} gave no read-write endpoint`,
        );
      const accepted = await step(cmd, 'liveSession', 'grantWrite', ls.entityId, {
        to,
        participantId: tmateParticipant(to),
        ttlMs,
      });
      return { accepted, link: null, endpoints };
    }
    const link: ParticipantLink = await personalLink(steps, cmd, shareId, to);
    // The session records the grant first (READY, atomically): no write exists that it does not know and expire.
    const accepted = await step(cmd, 'liveSession', 'grantWrite', ls.entityId, {
      to,
      participantId: link.participant_id,
      ttlMs,
    });
    await step(cmd, 'share', 'grantWrite', shareId, { participantId: link.participant_id, ttlMs });
    return { accepted, link, endpoints: null };
  };

  const reply = async (
    cmd: Command,
    accepted: CommandAccepted,
    id: string,
    link: ParticipantLink | null,
    endpoints: Record<string, string> | null,
  ): Promise<CommandAccepted> => {
    const ls = (await readActor(host, 'liveSession', id))!;
    return { ...accepted, commandId: cmd.id, result: await liveReply(host, secrets, ls, link, endpoints) };
  };

  return {
    'liveSession.enable': withSecretReply(async (cmd) => {
      if (!settings.enabled)
        throw new TetherError(
          'NOT_ALLOWED',
          'live sessions are off on this tether (TETHER_LIVE_ENABLED=0): runs go headless; set TETHER_LIVE_ENABLED=1 and restart to watch them',
          { reason: 'LIVE_DISABLED' },
        );
      const body = parseData(LiveEnableBody, 'data for liveSession.enable', cmd.data);
      const r = await run(body.task_run_id);
      if (isEndedTaskRun(r.value))
        throw new TetherError(
          'NOT_ALLOWED',
          `task run ${r.entityId} ${String(r.value)} at ${r.context.endedAt}; a live session is for a run that is queued or running`,
          { reason: 'TASK_RUN_ENDED' },
        );
      const id = liveSessionIdOf(r.entityId);
      const existing = await readActor(host, 'liveSession', id);
      if (existing && existing.value !== 'starting' && existing.value !== 'ready')
        throw new TetherError(
          'NOT_ALLOWED',
          `live session ${id} of task run ${r.entityId} is ${String(existing.value)} since ${existing.context.endedAt} (${existing.context.endReason}); a task run has one live session`,
          { reason: `LIVE_SESSION_${String(existing.value).toUpperCase()}` },
        );
      // Enabling again answers with the session as it is: no second open, no second share.
      const accepted = existing
        ? asIs(cmd, existing)
        : await step(cmd, 'liveSession', 'open', id, {
            taskRunId: r.entityId,
            terminalId: r.context.terminalId,
            provider: body.provider ?? settings.provider,
            ttlMs: settings.ttlMs,
            rwTtlMs: settings.rwTtlMs,
            allowWeb: settings.allowWeb,
            heartbeatMs: settings.heartbeatMs,
          });
      const ls = await liveSettled(host, id, settings.readyMs + 2_000);
      const link =
        ls.value === 'ready' && ls.context.provider === 'native' && ls.context.shareId
          ? await personalLink(steps, cmd, ls.context.shareId, cmd.actor)
          : null;
      return reply(cmd, accepted, id, link, null);
    }),

    'liveSession.grantWrite': withSecretReply(async (cmd) => {
      const body = parseData(GrantLiveWriteBody, 'data for liveSession.grantWrite', cmd.data);
      const ls = await sessionOf(cmd);
      const to = body.to ? parseActorRef(body.to) : cmd.actor;
      const g = await grant(cmd, ls, to, body.ttl_ms ?? ls.context.rwTtlMs);
      return reply(cmd, g.accepted, ls.entityId, g.link, g.endpoints);
    }),

    'taskRun.takeover': withSecretReply(async (cmd) => {
      const body = parseData(TakeoverBody, 'data for taskRun.takeover', cmd.data);
      if (!cmd.entityId)
        throw new TetherError('INVALID_COMMAND', 'taskRun.takeover needs the task run id as entityId', {
          issues: [{ path: ['entityId'], message: 'required' }],
        });
      const r = await run(cmd.entityId);
      const id = liveSessionIdOf(r.entityId);
      const ls = await readActor(host, 'liveSession', id);
      if (ls?.value !== 'ready')
        throw new TetherError(
          'NOT_ALLOWED',
          `task run ${r.entityId} has no READY live session (${ls ? String(ls.value) : 'none'}): a takeover gives you its keyboard through one; enable it first (liveSession.enable {task_run_id: "${r.entityId}"}, POST /v1/task-runs/${r.entityId}/live-session), then take over`,
          { reason: 'LIVE_SESSION_NOT_READY' },
        );
      const taken = await step(cmd, 'taskRun', 'takeover', r.entityId, {
        mode: body.mode,
        ...(body.reason ? { reason: body.reason } : {}),
      });
      const g = await grant(cmd, ls, cmd.actor, ls.context.rwTtlMs);
      const after = (await readActor(host, 'liveSession', id))!;
      return {
        ...taken,
        commandId: cmd.id,
        result: await liveReply(host, secrets, after, g.link, g.endpoints),
      };
    }),
  };
}
