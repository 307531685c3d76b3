import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CredentialCreated,
  CredentialView,
  EntityReplay,
  LoginLink,
  Page,
  Me,
  ApprovalView,
  AuditList,
  CheckpointView,
  OrphanView,
  RecoveryStatusView,
  RecoveryView,
  AuditVerdict,
  HandoffEnvironment,
  HandoffView,
  HarnessStatusView,
  Items,
  LaneView,
  LiveLinkReply,
  LiveSessionView,
  OperatorMessage,
  TaskRunView,
  ParticipantLink,
  ParticipantView,
  PolicyView,
  SessionView,
  ShareCreated,
  StreamActor,
  ShareView,
  TerminalView,
} from '@tether/contracts';
import { openApiDocument } from '@tether/contracts/openapi';
import { asActor, bearer, api, eventually, openSse, recoverySteps, uid, useControlPlane } from '../harness/index.ts';
import { policyFile } from '../sharing/helpers.ts';
import { agentCommand } from '../live/task-helpers.ts';

// Every route of the OpenAPI document (but the per-verb command routes, which the bus, gateway and
// fuzz tests cover) is called here and its answer checked against the contract's schema. A route
// added to the document without a case here fails the first test.

const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() }); // write shares need a rule
const ids = {} as {
  credential: string;
  lane: string;
  session: string;
  cleanupLane: string;
  terminal: string;
  share: string;
  participant: string;
  handoff: string;
  recovery: string;
  run: string;
  runTerminal: string;
};
ids.recovery = uid('rec');
const rejection = (code: string, reason?: string) =>
  z.object({
    ok: z.literal(false),
    error: z.object({ code: z.literal(code), ...(reason ? { reason: z.literal(reason) } : {}), message: z.string() }),
  });

const Actor = z.object({
  entity: z.string(),
  entityId: z.string(),
  version: z.number().int(),
  streamSeq: z.number().int(),
  value: z.unknown(),
  context: z.record(z.string(), z.unknown()),
});
type Case = { call: () => Promise<{ status: number; body: unknown }>; status: number; schema: z.ZodType };
const get = (path: () => string) => () => api(cp, 'GET', path());
const post = (path: () => string, body?: () => unknown) => () => api(cp, 'POST', path(), body?.());
/** Bob, a member: the receiver of the handoff below. */
const bob = () => asActor(cp, 'human:bob', 'member');

/** The events of a server-sent event stream up to its first `ready` event, with the status and content type. */
async function sse(path: string): Promise<{ status: number; body: unknown }> {
  const s = await openSse(cp.url + path, bearer(cp));
  const events = await s.until((es) => es.some((e) => e.event === 'ready'));
  s.close();
  return { status: s.status, body: { contentType: s.contentType, events } };
}

const cases: Record<string, Case> = {
  'post /v1/workspaces/{ws}/lanes': {
    call: post(
      () => '/v1/workspaces/ws1/lanes',
      () => ({ project_context_id: 'p', display_name: 'contract' }),
    ),
    status: 201,
    schema: LaneView,
  },
  'get /v1/workspaces/{ws}/lanes': {
    call: get(() => '/v1/workspaces/ws1/lanes'),
    status: 200,
    schema: Items(LaneView),
  },
  'get /v1/workspaces/{ws}/lanes/{lane}': {
    call: get(() => `/v1/workspaces/ws1/lanes/${ids.lane}`),
    status: 200,
    schema: LaneView,
  },
  'post /v1/workspaces/{ws}/lanes/{lane}/attach': {
    call: post(() => `/v1/workspaces/ws1/lanes/${ids.lane}/attach`),
    status: 200,
    schema: LaneView,
  },
  'post /v1/workspaces/{ws}/lanes/{lane}/sessions': {
    call: post(
      () => `/v1/workspaces/ws1/lanes/${ids.lane}/sessions`,
      () => ({ provider: 'codex' }),
    ),
    status: 200,
    schema: SessionView,
  },
  'get /v1/workspaces/{ws}/lanes/{lane}/sessions': {
    call: get(() => `/v1/workspaces/ws1/lanes/${ids.lane}/sessions`),
    status: 200,
    schema: Items(SessionView),
  },
  'post /v1/workspaces/{ws}/lanes/{lane}/terminals': {
    call: post(
      () => `/v1/workspaces/ws1/lanes/${ids.lane}/terminals`,
      () => ({ session_id: ids.session }),
    ),
    status: 201,
    schema: TerminalView,
  },
  'get /v1/workspaces/{ws}/lanes/{lane}/terminals': {
    call: get(() => `/v1/workspaces/ws1/lanes/${ids.lane}/terminals`),
    status: 200,
    schema: Items(TerminalView),
  },
  'post /v1/shares': {
    call: post(
      () => '/v1/shares',
      () => ({ terminal_id: ids.terminal, access: 'write' }),
    ),
    status: 201,
    schema: ShareCreated,
  },
  'get /v1/shares': {
    call: get(() => `/v1/shares?terminal_id=${ids.terminal}&live=true&limit=10`),
    status: 200,
    schema: Page(ShareView),
  },
  'get /v1/shares/{share}': { call: get(() => `/v1/shares/${ids.share}`), status: 200, schema: ShareView },
  // A native share has participant links, not backend links.
  'get /v1/shares/{share}/links': {
    call: get(() => `/v1/shares/${ids.share}/links`),
    status: 404,
    schema: rejection('NOT_FOUND'),
  },
  'post /v1/shares/{share}/extend': {
    call: post(
      () => `/v1/shares/${ids.share}/extend`,
      () => ({ ttl_ms: 60_000 }),
    ),
    status: 200,
    schema: ShareView,
  },
  'get /v1/shares/{share}/participants': {
    call: get(() => `/v1/shares/${ids.share}/participants`),
    status: 200,
    schema: Items(ParticipantView),
  },
  'post /v1/shares/{share}/participants': {
    call: post(
      () => `/v1/shares/${ids.share}/participants`,
      () => ({ name: 'second' }),
    ),
    status: 201,
    schema: ParticipantLink,
  },
  'post /v1/shares/{share}/participants/{participant}/grant-write': {
    call: post(
      () => `/v1/shares/${ids.share}/participants/${ids.participant}/grant-write`,
      () => ({ ttl_ms: 60_000 }),
    ),
    status: 200,
    schema: ShareView,
  },
  'post /v1/shares/{share}/participants/{participant}/revoke-write': {
    call: post(
      () => `/v1/shares/${ids.share}/participants/${ids.participant}/revoke-write`,
      () => ({}),
    ),
    status: 200,
    schema: ShareView,
  },
  'post /v1/shares/{share}/participants/{participant}/kick': {
    call: post(
      () => `/v1/shares/${ids.share}/participants/${ids.participant}/kick`,
      () => ({}),
    ),
    status: 200,
    schema: ShareView,
  },
  // No tmate relay is configured in this server: the switch is refused before anything changes.
  'post /v1/shares/{share}/switch': {
    call: post(
      () => `/v1/shares/${ids.share}/switch`,
      () => ({ backend: 'tmate' }),
    ),
    status: 409,
    schema: rejection('NOT_ALLOWED', 'BACKEND_UNAVAILABLE'),
  },
  'post /v1/shares/{share}/revoke': {
    call: post(
      () => `/v1/shares/${ids.share}/revoke`,
      () => ({ reason: 'contract test' }),
    ),
    status: 200,
    schema: ShareView,
  },
  'get /v1/approvals': {
    call: get(() => '/v1/approvals?status=denied&limit=10'),
    status: 200,
    schema: Page(ApprovalView),
  },
  'get /v1/approvals/{approval}': {
    call: get(() => '/v1/approvals/none-such'),
    status: 404,
    schema: rejection('NOT_FOUND'),
  },
  'post /v1/approvals/{approval}/approve': {
    call: post(
      () => '/v1/approvals/none-such/approve',
      () => ({}),
    ),
    status: 404,
    schema: rejection('NOT_FOUND'),
  },
  'post /v1/approvals/{approval}/deny': {
    call: post(
      () => '/v1/approvals/none-such/deny',
      () => ({ reason: 'no' }),
    ),
    status: 404,
    schema: rejection('NOT_FOUND'),
  },
  'post /v1/handoffs': {
    call: post(
      () => '/v1/handoffs',
      () => ({ terminal_id: ids.terminal, to: 'human:bob', session_id: 'bob-keyboard' }),
    ),
    status: 201,
    schema: HandoffView.refine((h) => h.status === 'offered', 'offered once its context is captured'),
  },
  'get /v1/handoffs': {
    call: get(() => `/v1/handoffs?terminal_id=${ids.terminal}&live=true`),
    status: 200,
    schema: Items(HandoffView),
  },
  'get /v1/handoffs/inbox': {
    call: async () => api(await bob(), 'GET', '/v1/handoffs/inbox'),
    status: 200,
    schema: Items(HandoffView).refine((l) => l.items.some((h) => h.handoff_id === ids.handoff), "in bob's inbox"),
  },
  'get /v1/handoffs/{handoff}': { call: get(() => `/v1/handoffs/${ids.handoff}`), status: 200, schema: HandoffView },
  'post /v1/handoffs/{handoff}/accept': {
    call: async () => api(await bob(), 'POST', `/v1/handoffs/${ids.handoff}/accept`, {}),
    status: 200,
    schema: HandoffView.refine((h) => h.status === 'completed', 'the keyboard changed hands'),
  },
  'get /v1/handoffs/{handoff}/environment': {
    call: async () => api(await bob(), 'GET', `/v1/handoffs/${ids.handoff}/environment`),
    status: 200,
    schema: HandoffEnvironment.refine((e) => 'TETHER_TERMINAL_ID' in e.environment, "the shell's environment"),
  },
  // Accepted: too late to call it off.
  'post /v1/handoffs/{handoff}/cancel': {
    call: post(
      () => `/v1/handoffs/${ids.handoff}/cancel`,
      () => ({}),
    ),
    status: 409,
    schema: rejection('NOT_ALLOWED', 'HANDOFF_COMPLETED'),
  },
  // The audit projection follows the stream: wait for the revoke above to land in it.
  'get /v1/audit': {
    call: () =>
      eventually(
        get(() => '/v1/audit?entity=share&limit=50'),
        (r) => JSON.stringify(r.body).includes('contract test'),
      ),
    status: 200,
    schema: AuditList.refine(
      (l) => l.items.some((r) => r.action === 'share.revoke' && r.reason === 'contract test'),
      'the revoke is audited with its reason',
    ),
  },
  'get /v1/audit/verify': {
    call: get(() => '/v1/audit/verify'),
    status: 200,
    schema: AuditVerdict.refine((v) => v.ok, 'the chain verifies'),
  },
  'post /v1/workspaces/{ws}/lanes/{lane}/cleanup': {
    call: post(
      () => `/v1/workspaces/ws1/lanes/${ids.cleanupLane}/cleanup`,
      () => ({}),
    ),
    status: 200,
    schema: LaneView,
  },
  'get /v1/harness/cliproxy/status': {
    call: get(() => '/v1/harness/cliproxy/status'),
    status: 200,
    schema: HarnessStatusView,
  },
  // No harness url in this server: the on-demand check says so, in the error contract.
  'post /v1/harness/cliproxy/check': {
    call: post(() => '/v1/harness/cliproxy/check'),
    status: 409,
    schema: z.object({
      ok: z.literal(false),
      error: z.object({
        code: z.literal('NOT_ALLOWED'),
        reason: z.literal('HARNESS_NOT_CONFIGURED'),
        message: z.string(),
      }),
    }),
  },
  'get /v1/entities/{entity}/{entityId}': {
    call: get(() => `/v1/entities/lane/${ids.lane}`),
    status: 200,
    schema: Actor,
  },
  'get /v1/entities/{entity}/{entityId}/events': {
    call: get(() => `/v1/entities/lane/${ids.lane}/events`),
    status: 200,
    schema: z.array(z.object({ streamSeq: z.number().int(), type: z.string(), seq: z.number().int() }).passthrough()),
  },
  // The share above, revoked: each event with the state after it, its participants' token hashes left out.
  'get /v1/entities/{entity}/{entityId}/replay': {
    call: get(() => `/v1/entities/share/${ids.share}/replay`),
    status: 200,
    schema: EntityReplay.refine(
      (r) =>
        r.steps.at(-1)?.state === 'ended' &&
        r.steps.length === r.total &&
        !JSON.stringify(r.steps.map((s) => s.context)).includes('tokenHash') &&
        r.steps.every((s) => s.data.tokenHash === undefined || s.data.tokenHash === '[redacted]'),
      'every step, ending in ended, without token hashes',
    ),
  },
  'get /v1/entities/{entity}': {
    call: get(() => '/v1/entities/lane'),
    status: 200,
    schema: z.object({ items: z.array(Actor) }),
  },
  'get /v1/projections': {
    call: get(() => '/v1/projections'),
    status: 200,
    schema: z.object({ items: z.array(z.object({ name: z.string(), bucket: z.string(), lag: z.number().int() })) }),
  },
  // Every live actor first (the lanes above among them), then `ready`.
  'get /v1/stream': {
    call: () => sse('/v1/stream'),
    status: 200,
    schema: z.object({
      contentType: z.literal('text/event-stream'),
      events: z
        .array(
          z.discriminatedUnion('event', [
            z.object({ event: z.literal('actor'), data: StreamActor }),
            z.object({ event: z.literal('ready'), data: z.object({}).strict() }),
          ]),
        )
        .refine((es) => es.some((e) => e.event === 'actor' && e.data.entity === 'lane'), 'the lanes are streamed'),
    }),
  },
  'get /v1/me': {
    call: get(() => '/v1/me'),
    status: 200,
    schema: Me.refine((m) => m.actor === 'human:ops' && m.role === 'operator' && m.csrf_token === null, 'the owner'),
  },
  'post /v1/credentials': {
    call: async () => {
      const r = await post(
        () => '/v1/credentials',
        () => ({ actor: 'human:contract', role: 'viewer', ttl_ms: 3_600_000 }),
      )();
      ids.credential = (r.body as { credential_id: string }).credential_id;
      return r;
    },
    status: 201,
    schema: CredentialCreated.refine((c) => c.token?.startsWith('tth_') && c.state === 'active', 'a new token'),
  },
  'get /v1/credentials': {
    call: get(() => '/v1/credentials'),
    status: 200,
    schema: Items(CredentialView).refine((l) => l.items.some((c) => c.credential_id === ids.credential), 'listed'),
  },
  'post /v1/credentials/{credential}/revoke': {
    call: post(
      () => `/v1/credentials/${ids.credential}/revoke`,
      () => ({ reason: 'contract test' }),
    ),
    status: 200,
    schema: CredentialView.refine((c) => c.state === 'revoked', 'revoked'),
  },
  'post /v1/login-links': {
    call: post(() => '/v1/login-links'),
    status: 201,
    schema: LoginLink.refine((l) => l.url.includes('/login#token=tth_'), 'a one-time link'),
  },
  'get /v1/recovery': {
    call: async () => {
      await recoverySteps(cp).issues(ids.recovery, { safeMode: true });
      return api(cp, 'GET', '/v1/recovery');
    },
    status: 200,
    schema: RecoveryStatusView.refine((s) => s.safe_mode?.active === true, 'in safe mode'),
  },
  'get /v1/recovery/runs': {
    call: get(() => '/v1/recovery/runs'),
    status: 200,
    schema: Items(RecoveryView).refine((r) => r.items.some((v) => v.recovery_id === ids.recovery), 'lists the run'),
  },
  'get /v1/recovery/runs/{recovery}': {
    call: get(() => `/v1/recovery/runs/${ids.recovery}`),
    status: 200,
    schema: RecoveryView.refine((v) => v.status === 'liveWithIssues', 'live with issues'),
  },
  'get /v1/recovery/review': {
    call: get(() => '/v1/recovery/review'),
    status: 200,
    schema: Items(OrphanView).refine((r) => r.items.length === 1, 'one orphan to review'),
  },
  'post /v1/recovery/runs/{recovery}/clean': {
    call: post(
      () => `/v1/recovery/runs/${ids.recovery}/clean`,
      () => ({ reason: 'contract test' }),
    ),
    status: 200,
    schema: RecoveryView,
  },
  'post /v1/recovery/runs/{recovery}/dismiss': {
    call: post(() => `/v1/recovery/runs/${ids.recovery}/dismiss`),
    status: 200,
    schema: RecoveryView.refine((v) => v.dismissed_at !== null, 'dismissed'),
  },
  'post /v1/recovery/safe-mode/leave': {
    call: post(
      () => '/v1/recovery/safe-mode/leave',
      () => ({ reason: 'contract test' }),
    ),
    status: 200,
    schema: RecoveryStatusView.refine((s) => s.safe_mode === null, 'safe mode left'),
  },
  // A task run of the scripted agent in the lane above, its live session and its recording (after safe mode is left).
  'post /v1/task-runs': {
    call: async () => {
      const r = await api(cp, 'POST', '/v1/task-runs', {
        lane_id: ids.lane,
        name: 'contract',
        command: agentCommand({ steps: 600 }),
      });
      const reply = LiveLinkReply.safeParse(r.body);
      if (reply.success) {
        ids.run = reply.data.task_run.task_run_id;
        ids.runTerminal = reply.data.task_run.terminal_id;
      }
      return r;
    },
    status: 201,
    schema: LiveLinkReply.refine((r) => r.task_run.status === 'running' && r.link !== null, 'running, with a link'),
  },
  'get /v1/task-runs': {
    call: get(() => `/v1/task-runs?lane_id=${ids.lane}`),
    status: 200,
    schema: Items(TaskRunView).refine((l) => l.items.some((r) => r.task_run_id === ids.run), 'lists the run'),
  },
  'get /v1/task-runs/{run}': { call: get(() => `/v1/task-runs/${ids.run}`), status: 200, schema: TaskRunView },
  'post /v1/task-runs/{run}/operator-messages': {
    call: post(
      () => `/v1/task-runs/${ids.run}/operator-messages`,
      () => ({ message: 'contract test' }),
    ),
    status: 201,
    schema: OperatorMessage.refine((m) => m.seq === 1, 'the first message'),
  },
  'get /v1/task-runs/{run}/operator-messages': {
    call: get(() => `/v1/task-runs/${ids.run}/operator-messages`),
    status: 200,
    schema: Items(OperatorMessage).refine((l) => l.items.length === 1, 'one message'),
  },
  'get /v1/task-runs/{run}/live-session': {
    call: get(() => `/v1/task-runs/${ids.run}/live-session`),
    status: 200,
    schema: LiveSessionView.refine((l) => l.status === 'ready', 'ready'),
  },
  'post /v1/task-runs/{run}/live-session': {
    call: post(() => `/v1/task-runs/${ids.run}/live-session`),
    status: 200,
    schema: LiveLinkReply.refine((r) => r.link !== null, "the caller's own link"),
  },
  'post /v1/task-runs/{run}/live-session/grant-write': {
    call: post(
      () => `/v1/task-runs/${ids.run}/live-session/grant-write`,
      () => ({ ttl_ms: 60_000 }),
    ),
    status: 200,
    schema: LiveLinkReply.refine((r) => r.task_run.live_session?.grants.length === 1, 'one grant'),
  },
  'post /v1/task-runs/{run}/control': {
    call: post(
      () => `/v1/task-runs/${ids.run}/control`,
      () => ({ action: 'pause', mode: 'hard', reason: 'contract test' }),
    ),
    status: 200,
    schema: LiveLinkReply.refine((r) => r.task_run.status === 'paused', 'paused'),
  },
  'post /v1/task-runs/{run}/live-session/revoke': {
    call: post(
      () => `/v1/task-runs/${ids.run}/live-session/revoke`,
      () => ({ scope: 'session', reason: 'contract test' }),
    ),
    status: 200,
    schema: LiveSessionView.refine((l) => l.status === 'revoked', 'revoked'),
  },
  'get /v1/recordings/{terminal}': {
    call: async () => {
      const res = await fetch(`${cp.url}/v1/recordings/${ids.runTerminal}`, { headers: bearer(cp) });
      return { status: res.status, body: await res.text() };
    },
    status: 200,
    schema: z.string().refine((cast) => JSON.parse(cast.split('\n')[0]!).version === 2, 'asciicast v2'),
  },
  'get /v1/checkpoints': {
    call: get(() => '/v1/checkpoints'),
    status: 200,
    schema: Items(CheckpointView),
  },
  // The operator's view of the share policy, and a reload of the same file (recorded, audited).
  'get /v1/policy': {
    call: get(() => '/v1/policy'),
    status: 200,
    schema: PolicyView.refine((p) => p.source === 'setting' && p.rule_ids.includes('people'), 'the test policy'),
  },
  'post /v1/policy/reload': {
    call: post(
      () => '/v1/policy/reload',
      () => ({}),
    ),
    status: 200,
    schema: PolicyView.refine((p) => p.trigger === 'command', 'reloaded by the command'),
  },
  'get /healthz': {
    call: get(() => '/healthz'),
    status: 200,
    schema: z.object({ ok: z.literal(true), store: z.enum(['jetstream', 'embedded']) }),
  },
  'get /openapi.json': {
    call: get(() => '/openapi.json'),
    status: 200,
    schema: z.object({ openapi: z.literal('3.1.0'), paths: z.record(z.string(), z.unknown()) }),
  },
};

describe('HTTP API against its contract', () => {
  it('has a case for every route in the OpenAPI document', () => {
    const operations = Object.entries(openApiDocument().paths)
      .filter(([path]) => !path.startsWith('/v1/commands/') && path !== '/metrics')
      .flatMap(([path, ops]) => Object.keys(ops as object).map((method) => `${method} ${path}`));
    expect(Object.keys(cases).sort()).toEqual(operations.sort());
  });

  it('every route answers with the status and body its contract gives', async () => {
    ids.cleanupLane = LaneView.parse(
      (await api(cp, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'to clean' })).body,
    ).lane_id;
    for (const [op, c] of Object.entries(cases)) {
      const r = await c.call();
      expect([op, r.status, r.status === c.status ? '' : JSON.stringify(r.body)]).toEqual([op, c.status, '']);
      const parsed = c.schema.safeParse(r.body);
      expect([op, parsed.success ? 'ok' : parsed.error.message]).toEqual([op, 'ok']);
      if (op === 'post /v1/workspaces/{ws}/lanes') ids.lane = (r.body as { lane_id: string }).lane_id;
      if (op === 'post /v1/workspaces/{ws}/lanes/{lane}/sessions')
        ids.session = (r.body as { session_id: string }).session_id;
      if (op === 'post /v1/workspaces/{ws}/lanes/{lane}/terminals')
        ids.terminal = (r.body as { terminal_id: string }).terminal_id;
      if (op === 'post /v1/handoffs') ids.handoff = (r.body as HandoffView).handoff_id;
      if (op === 'post /v1/shares')
        [ids.share, ids.participant] = [
          (r.body as ShareCreated).share.share_id,
          (r.body as ShareCreated).link!.participant_id,
        ];
    }
    const metrics = await fetch(`${cp.url}/metrics`, { headers: bearer(cp) });
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/^tether_stream_last_seq \d+$/m);
  });
});
