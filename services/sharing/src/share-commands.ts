import {
  parseData,
  sameActor,
  ParticipantInviteBody,
  ShareCreateBody,
  ShareSwitchBody,
  TetherError,
  Token,
  type Command,
  type CommandAccepted,
  type ParticipantLink,
} from '@tether/contracts';
import { commandSteps, stepId, withSecretReply, type ActorHost, type ApplicationCommand } from '@tether/runtime';
import type { ShareGate } from './share-gate.ts';
import { hashToken, type SecretBox } from './secrets.ts';
import { readActor, shareView } from '@tether/projector';
import { uniqueParticipantName } from '@tether/machines';
import { liveShareVerdict } from './live/live-share.ts';

export interface ShareCommandDeps {
  host: ActorHost;
  gate: ShareGate;
  secrets: SecretBox;
  /** Where viewers open links (the gateway's address), known once it listens. */
  baseUrl: () => string;
  /** Rejects a backend that cannot run here (missing binary, no relay configured) before anything is written. */
  checkBackend: (backend: string) => Promise<void>;
}

/** An answer that says nothing was written (as opposed to a lost or timed-out one, whose outcome is unknown). */
const isRefusal = (err: unknown) =>
  err instanceof TetherError && ['ALREADY_EXISTS', 'NOT_ALLOWED', 'NOT_FOUND', 'INVALID_COMMAND'].includes(err.code);

/** The share an application command acts on: its entityId, required. */
function shareIdOf(cmd: Command): string {
  if (cmd.entityId === undefined)
    throw new TetherError('INVALID_COMMAND', `share.${cmd.verb} needs the share id as entityId`, {
      issues: [{ path: ['entityId'], message: 'required' }],
    });
  return parseData(Token, `data for share.${cmd.verb} entityId`, cmd.entityId);
}

/** What a share's creation may add: the share it replaces (switch), or the live session it serves. */
export interface CreateOptions {
  replaces?: string;
  /** A live session's share: allowed by the session (see live/live-share.ts), no first link; web: browser viewers allowed. */
  live?: { liveSessionId: string; taskRunId: string; web: boolean };
}

/**
 * The steps share.create and share.invite take, for them and for live sessions: run the policy gate,
 * take a terminal slot, write the request, and mint participant tokens (HMAC of the command id: a
 * resend gets the same link, and only the token's hash is written).
 */
export function shareSteps(deps: ShareCommandDeps) {
  const { host, gate, secrets } = deps;
  const step = (
    cmd: Command,
    entity: string,
    verb: string,
    entityId: string,
    data: Record<string, unknown>,
    key?: string,
  ) => commandSteps(host, cmd)(entity, verb, entityId, data, key);

  /** `authorized`: the caller was allowed by the rules to make this link (an operator on a live session). */
  const invite = async (cmd: Command, shareId: string, name: string, authorized = false): Promise<ParticipantLink> => {
    // A resent command id is answered from the stream before any machine guard runs, so who may make a
    // link is checked before that: share.invite from outside was already asked of the rules by the
    // Dispatcher (the owner or an operator, before the ledger); tether's own calls (the first link of a
    // create or switch) make links for their own actor's share only.
    const share = (await readActor(host, 'share', shareId))?.context;
    const owner = share?.owner;
    if (!owner) throw new TetherError('NOT_FOUND', `share ${shareId} does not exist`);
    if (!(authorized || (cmd.verb === 'invite' && cmd.principal)) && !sameActor(owner, cmd.actor))
      throw new TetherError('FORBIDDEN', `only the owner of share ${shareId} makes its links`, {
        reason: 'share-owner-or-operator',
      });
    const participantId = `p-${stepId(cmd.id, `participant.${shareId}`).slice(0, 12)}`;
    const token = secrets.token(`${cmd.id}:${shareId}:${participantId}`);
    // Invited before by this very command id (a resend, or a person's own live-session link): the same link again.
    let invited = share.participants[participantId];
    if (invited?.tokenHash !== hashToken(token)) {
      // The name as it will be (bob-2 beside a bob) goes in the event; the machine makes it unique again should
      // another invite land first.
      const unique = uniqueParticipantName(share.participants, name);
      await step(cmd, 'share', 'invite', shareId, { participantId, name: unique, tokenHash: hashToken(token) });
      invited = (await readActor(host, 'share', shareId))?.context.participants[participantId];
    }
    return {
      participant_id: participantId,
      name: invited?.name ?? name,
      token,
      url: `${deps.baseUrl()}/v/${shareId}#t=${token}`,
    };
  };

  /** A terminal slot, freeing slots whose share has ended or never got written (a crash between steps). */
  const takeSlot = async (cmd: Command, terminalId: string, shareId: string) => {
    const open = () => step(cmd, 'terminal', 'shareOpen', terminalId, { shareId, limit: gate.settings.maxPerTerminal });
    try {
      return await open();
    } catch (err) {
      if (!(err instanceof TetherError && err.reason === 'TERMINAL_SHARE_LIMIT')) throw err;
      const held = (await gate.liveTerminal(host, terminalId)).context.shares ?? [];
      let freed = 0;
      for (const id of held) {
        const s = await host.state('share', id);
        if (s && s.value !== 'ended') continue;
        await commandSteps(host, cmd)('terminal', 'shareClose', terminalId, { shareId: id }, `free.${id}`).catch(
          () => undefined,
        );
        freed++;
      }
      if (freed === 0) throw err;
      return open();
    }
  };

  const create = async (
    cmd: Command,
    body: ReturnType<typeof ShareCreateBody.parse>,
    opts: CreateOptions = {},
  ): Promise<CommandAccepted> => {
    const terminal = await gate.liveTerminal(host, body.terminal_id);
    const ttlMs = body.ttl_ms ?? gate.settings.defaultTtlMs;
    gate.checkTtl(ttlMs);
    const shareId = cmd.entityId ?? `sh-${stepId(cmd.id, 'share').slice(0, 16)}`;
    const request = {
      terminalId: body.terminal_id,
      laneId: terminal.context.laneId,
      backend: body.backend,
      access: body.access,
    };
    const { live } = opts;
    const verdict = live ? liveShareVerdict(live.liveSessionId, live.taskRunId) : gate.decide(cmd.actor, request);
    if (verdict.effect !== 'deny') {
      await deps.checkBackend(body.backend);
      await takeSlot(cmd, body.terminal_id, shareId);
    }
    const accepted = await step(cmd, 'share', 'request', shareId, {
      ...request,
      ttlMs,
      maxTtlMs: gate.settings.maxTtlMs,
      warnBeforeMs: gate.settings.warnBeforeMs,
      policy: verdict,
      ...(opts.replaces ? { replaces: opts.replaces } : {}),
      ...(live ? { liveSessionId: live.liveSessionId, web: live.web } : {}),
    }).catch(async (err) => {
      // Refused (the id names another share, the gate says no): no share holds the slot just taken, so it goes back.
      if (verdict.effect !== 'deny' && isRefusal(err))
        await step(cmd, 'terminal', 'shareClose', body.terminal_id, { shareId }, `unslot.${shareId}`).catch(
          () => undefined,
        );
      throw err;
    });
    if (verdict.effect === 'deny') {
      throw new TetherError('NOT_ALLOWED', `share ${shareId} denied: ${verdict.reason}`, { reason: 'SHARE_DENIED' });
    }
    const link = body.backend === 'native' && !live ? await invite(cmd, shareId, body.participant) : null;
    const share = shareView((await readActor(host, 'share', shareId))!);
    return { ...accepted, commandId: cmd.id, result: { share, link } };
  };

  return { create, invite };
}

/** share.create, share.invite and share.switch: the share commands from outside. */
export function shareCommands(deps: ShareCommandDeps): Record<string, ApplicationCommand> {
  const { host, gate } = deps;
  const { create, invite } = shareSteps(deps);
  const step = (cmd: Command, entity: string, verb: string, entityId: string, data: Record<string, unknown>) =>
    commandSteps(host, cmd)(entity, verb, entityId, data);

  return {
    // Their replies carry participant tokens: the ledger keeps the id, never the token.
    'share.create': withSecretReply((cmd) =>
      create(cmd, parseData(ShareCreateBody, 'data for share.create', cmd.data)),
    ),

    'share.invite': withSecretReply(async (cmd) => {
      const shareId = shareIdOf(cmd);
      const body = parseData(ParticipantInviteBody, 'data for share.invite', cmd.data);
      const s = await readActor(host, 'share', shareId);
      if (!s) throw new TetherError('NOT_FOUND', `share ${shareId} does not exist`);
      if (s.context.backend !== 'native') {
        throw new TetherError(
          'NOT_ALLOWED',
          `share ${shareId} runs on ${s.context.backend}, whose links come from the backend; per-participant links are a native-share feature`,
          { reason: 'SHARE_NOT_NATIVE' },
        );
      }
      const link = await invite(cmd, shareId, body.name);
      const after = (await readActor(host, 'share', shareId))!;
      return {
        ok: true,
        commandId: cmd.id,
        entity: 'share',
        entityId: shareId,
        seq: after.version,
        streamSeq: after.streamSeq,
        state: after.value as string,
        correlationId: cmd.correlationId,
        duplicate: false,
        result: { link, share: shareView(after) },
      };
    }),

    /** Switching backend ends the old share (reason switched) and starts a new one under the same policy. */
    'share.switch': withSecretReply(async (cmd) => {
      const oldId = shareIdOf(cmd);
      const body = parseData(ShareSwitchBody, 'data for share.switch', cmd.data);
      const old = await readActor(host, 'share', oldId);
      if (!old) throw new TetherError('NOT_FOUND', `share ${oldId} does not exist`);
      const c = old.context;
      if (c.backend === body.backend)
        throw new TetherError('INVALID_COMMAND', `share ${oldId} already runs on ${body.backend}`);
      const verdict = gate.decide(cmd.actor, { ...c, backend: body.backend });
      if (verdict.effect === 'deny')
        throw new TetherError(
          'NOT_ALLOWED',
          `switching share ${oldId} to ${body.backend} is denied: ${verdict.reason}`,
          { reason: 'SHARE_DENIED' },
        );
      await deps.checkBackend(body.backend);
      const newId = `sh-${stepId(cmd.id, 'share').slice(0, 16)}`;
      await step(cmd, 'share', 'switch', oldId, { toShareId: newId });
      await step(cmd, 'terminal', 'shareClose', c.terminalId, { shareId: oldId }).catch(() => undefined);
      const left = c.expiresAt
        ? Math.max(gate.settings.minTtlMs, Date.parse(c.expiresAt) - Date.now())
        : gate.settings.defaultTtlMs;
      return create(
        { ...cmd, entityId: newId },
        {
          terminal_id: c.terminalId,
          backend: body.backend,
          access: c.access,
          ttl_ms: Math.min(left, gate.settings.maxTtlMs),
          participant: 'viewer',
        },
        { replaces: oldId },
      );
    }),
  };
}
