import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AuditList,
  CommandRejected,
  HandoffEnvironment,
  HandoffOffer,
  HandoffView,
  TerminalView,
  handoffSubjects,
  type StoredEvent,
} from '@tether/contracts';
import { sendCommand } from '@tether/runtime';
import { SecretBox } from '@tether/sharing';
import { termSubjects } from '@tether/workers';
import { api, eventually, useControlPlane } from '../harness/index.ts';
import { as, credentialOf, policyFile, runningTerminal } from './helpers.ts';

// Handoffs (seed 000, T011) against real tmux, git and nats-server: human → AI with an operator's
// approval, AI → human with the human's inbox and scrollback, denials that capture nothing, a race of
// two handoffs for one terminal, and the old writer refused once the keyboard changed hands.

// Every shell of this file starts with this in its environment (tmux's server inherits it): its value
// must be sealed, never in an event, an audit record or a notification.
const SECRET = `sekrit-${randomUUID()}`;
process.env.TETHER_HANDOFF_TEST_SECRET = SECRET;

const cp = useControlPlane({
  TETHER_SHARE_POLICY: policyFile([
    { id: 'people', effect: 'allow', actors: ['human:*'] },
    {
      id: 'handoff-to-agents',
      effect: 'allow',
      actions: ['handoff'],
      actors: ['human:*'],
      to: ['ai:*'],
      requireApproval: true,
      reason: "an agent gets a keyboard only with an operator's approval",
    },
    { id: 'handoff-to-people', effect: 'allow', actions: ['handoff'], to: ['human:*'] },
  ]),
});

const ANN = 'human:ann';
const CAROL = 'human:carol';
const CODEX = { kind: 'ai' as const, id: 'codex' };
const ALICE = { kind: 'human' as const, id: 'alice' };

const view = async (id: string) => HandoffView.parse((await as(cp, ANN, 'GET', `/v1/handoffs/${id}`)).body);
const terminalOf = async (laneId: string, id: string) =>
  TerminalView.array()
    .parse(((await api(cp, 'GET', `/v1/workspaces/ws1/lanes/${laneId}/terminals`)).body as { items: unknown[] }).items)
    .find((t) => t.terminal_id === id)!;
const request = (actor: string, body: Record<string, unknown>) => as(cp, actor, 'POST', '/v1/handoffs', body);
const type = (terminalId: string, data: string, from: string) =>
  cp.ctx.store.nc.publish(termSubjects.in(terminalId), JSON.stringify({ data, from }));

/** Everything a terminal prints on tether.term.<id>.out, as a watcher sees it. */
function watch(terminalId: string) {
  let text = '';
  const sub = cp.ctx.store.nc.subscribe(termSubjects.out(terminalId), {
    callback: (_e, m) => {
      text += new TextDecoder().decode(m.data);
    },
  });
  return { text: () => text, stop: () => sub.unsubscribe() };
}

/** The offers published to `to` on its documented subject. */
function inbox(to: { kind: string; id: string }) {
  const offers: HandoffOffer[] = [];
  const sub = cp.ctx.store.nc.subscribe(handoffSubjects.offered(to), {
    callback: (_e, m) => void offers.push(HandoffOffer.parse(m.json())),
  });
  return { offers, stop: () => sub.unsubscribe() };
}

async function eventsOf(id: string): Promise<StoredEvent[]> {
  return cp.ctx.store.readEntity('handoff', id);
}

const events0 = (events: StoredEvent[]) => events[0]!.event;

async function auditOf(id: string) {
  return AuditList.parse((await api(cp, 'GET', `/v1/audit?entity=handoff&entity_id=${id}`)).body).items;
}

/** A running terminal whose shell moved into a sub folder and changed the lane's files (for cwd and git status). */
async function busyTerminal(marker: string) {
  const t = await runningTerminal(cp);
  const out = watch(t.term.terminal_id);
  type(
    t.term.terminal_id,
    `mkdir -p work && echo changed >> README.md && touch new-file && cd work && echo ${marker}-$((6*7))\r`,
    t.session.session_id,
  );
  await eventually(out.text, (s) => s.includes(`${marker}-42`));
  return { ...t, out };
}

describe('handoff: human → AI with approval', () => {
  it('held for an operator, captured only once approved, offered to the agent on its subject, accepted: the agent writes, the giver watches', async () => {
    const { lane, session, term, out } = await busyTerminal('before-handoff');
    const agent = inbox(CODEX);
    const r = await request(ANN, { terminal_id: term.terminal_id, to: 'ai:codex', note: 'take over the flaky build' });
    expect(r.status).toBe(201);
    const held = HandoffView.parse(r.body);
    expect(held).toMatchObject({
      status: 'awaiting_approval',
      from: ANN,
      to: 'ai:codex',
      from_session_id: session.session_id,
      approval_id: held.handoff_id,
      policy: { effect: 'approval', rule_id: 'handoff-to-agents' },
      context: null,
    });
    const approval = await eventually(
      () => as<{ status: string; handoff_id: string | null }>(cp, CAROL, 'GET', `/v1/approvals/${held.approval_id}`),
      (a) => a.status === 200,
    );
    expect(approval.body).toMatchObject({ status: 'pending', handoff_id: held.handoff_id, share_id: null });
    // The terminal is claimed by this handoff from the start; its share badges say so.
    await eventually(
      () => terminalOf(lane.lane_id, term.terminal_id),
      (t) => t.handoff_id === held.handoff_id,
    );

    // The requester cannot approve their own handoff (ann is no operator; an operator would meet four-eyes).
    const self = await as(cp, ANN, 'POST', `/v1/approvals/${held.approval_id}/approve`, {});
    expect(CommandRejected.parse(self.body).error.reason).toBe('operators-decide-approvals');
    expect((await view(held.handoff_id)).context).toBeNull();

    const approve = await as(cp, CAROL, 'POST', `/v1/approvals/${held.approval_id}/approve`, {});
    expect(approve.status, JSON.stringify(approve.body)).toBe(200);
    await eventually(
      () => agent.offers.length,
      (n) => n === 1,
    );
    const offer = agent.offers[0]!;
    expect(offer.accept).toEqual({
      nats: 'tether.cmd.handoff.accept',
      http: `POST /v1/handoffs/${held.handoff_id}/accept`,
    });
    const ctx = offer.handoff.context!;
    expect(offer.handoff).toMatchObject({ status: 'offered', note: 'take over the flaky build' });
    expect(ctx.cwd).toBe(join(lane.worktree_path!, 'work'));
    expect(ctx.env.names).toEqual(expect.arrayContaining(['TETHER_HANDOFF_TEST_SECRET', 'TETHER_TERMINAL_ID', 'PATH']));
    expect(ctx.git).toEqual({
      branch: lane.branch,
      base: 'main',
      ahead: 0,
      behind: 0,
      staged: 0,
      unstaged: 1,
      untracked: 1,
      conflicted: 0,
    });
    expect(ctx.correlationId).toBe(events0(await eventsOf(held.handoff_id)).correlationId);

    // The environment's values are sealed in a private file, the scrollback snapshot beside it.
    const sealed = join(cp.home, ctx.env.sealedRef);
    expect(statSync(sealed).mode & 0o777).toBe(0o600);
    expect(readFileSync(sealed, 'utf8')).not.toContain(SECRET);
    const opened = SecretBox.load(join(cp.home, 'secret.key')).open<Record<string, string>>(
      readFileSync(sealed, 'utf8'),
    );
    expect(opened.TETHER_HANDOFF_TEST_SECRET).toBe(SECRET);
    const snapshot = readFileSync(join(cp.home, ctx.scrollback.ref));
    expect(statSync(join(cp.home, ctx.scrollback.ref)).mode & 0o777).toBe(0o600);
    expect(createHash('sha256').update(snapshot).digest('hex')).toBe(ctx.scrollback.sha256);
    expect(snapshot.toString()).toContain('before-handoff-42');

    const early = await as(cp, 'ai:codex', 'GET', `/v1/handoffs/${held.handoff_id}/environment`);
    expect(CommandRejected.parse(early.body).error.reason).toBe('HANDOFF_NOT_ACCEPTED');

    // Only the receiver accepts; over NATS, as the agent would.
    const wrong = await sendCommand(
      cp.ctx.store.nc,
      'handoff',
      'accept',
      {
        entityId: held.handoff_id,
        data: {},
        actor: { kind: 'ai', id: 'other-agent' },
      },
      { credential: await credentialOf(cp, { kind: 'ai', id: 'other-agent' }) },
    );
    expect(wrong).toMatchObject({ ok: false, error: { reason: 'HANDOFF_NOT_RECEIVER' } });
    const accepted = await sendCommand(
      cp.ctx.store.nc,
      'handoff',
      'accept',
      {
        entityId: held.handoff_id,
        data: {},
        actor: CODEX,
      },
      { credential: await credentialOf(cp, CODEX) },
    );
    expect(accepted).toMatchObject({ ok: true, state: 'transferring' });
    const done = await eventually(
      () => view(held.handoff_id),
      (h) => h.status === 'completed',
    );
    const t = await terminalOf(lane.lane_id, term.terminal_id);
    expect(t).toMatchObject({ session_id: done.to_session_id, watchers: [session.session_id], handoff_id: null });

    // The agent types; the giver still sees the output (a read-only watcher) but its own keystrokes go nowhere.
    type(term.terminal_id, 'echo giver-typed-$((1+1))\r', session.session_id);
    type(term.terminal_id, 'echo agent-typed-$((2+2))\r', done.to_session_id);
    await eventually(out.text, (s) => s.includes('agent-typed-4'));
    expect(out.text()).not.toContain('giver-typed-2');
    out.stop();
    agent.stop();

    // The receiver, which has the keyboard now, may read the environment the giver's shell had; nobody else.
    const env = await as(cp, 'ai:codex', 'GET', `/v1/handoffs/${held.handoff_id}/environment`);
    expect(HandoffEnvironment.parse(env.body).environment.TETHER_HANDOFF_TEST_SECRET).toBe(SECRET);
    const peek = await as(cp, CAROL, 'GET', `/v1/handoffs/${held.handoff_id}/environment`);
    expect(CommandRejected.parse(peek.body).error).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'handoff-environment-receiver-only',
    });

    // Every step is an event and an audit record, all with the request's correlation id; no value of the environment anywhere.
    const events = await eventsOf(held.handoff_id);
    expect(events.map((e) => e.event.type)).toEqual([
      'handoff.request',
      'handoff.approved',
      'handoff.initiated',
      'handoff.accept',
      'handoff.completed',
    ]);
    // What tether did carries the request's correlation id; the agent's accept carries its own.
    const tethers = events.filter((e) => e.event.type !== 'handoff.accept').map((e) => e.event.correlationId);
    expect(new Set(tethers)).toEqual(new Set([ctx.correlationId]));
    const audit = await eventually(
      () => auditOf(held.handoff_id),
      (a) => a.length === events.length,
    );
    expect(audit.map((a) => a.action)).toEqual(events.map((e) => e.event.type));
    expect(audit[0]).toMatchObject({
      actor: { kind: 'human', id: 'ann' },
      data: { to: CODEX, terminalId: term.terminal_id },
    });
    expect(audit[1]!.data).toMatchObject({ by: CAROL });
    expect(audit[4]!.data).toMatchObject({ terminalId: term.terminal_id, fromSessionId: session.session_id });
    expect(JSON.stringify([events, audit, offer])).not.toContain(SECRET);
  });
});

describe('handoff: AI → human', () => {
  it('an agent asks for a person: the person finds it in the inbox, accepts, and types with the scrollback intact', async () => {
    const { term, session, out } = await busyTerminal('agent-was-stuck');
    const alice = inbox(ALICE);
    const r = await request('ai:codex', {
      terminal_id: term.terminal_id,
      to: 'human:alice',
      note: 'tests need a person to approve the migration',
    });
    expect(r.status).toBe(201);
    const h = HandoffView.parse(r.body);
    expect(h).toMatchObject({ from: 'ai:codex', to: 'human:alice', policy: { rule_id: 'handoff-to-people' } });
    const offered = await eventually(
      () => view(h.handoff_id),
      (v) => v.status === 'offered',
    );
    expect(offered.offer_expires_at).not.toBeNull();
    // The person's inbox has it, nobody else's; the notification went out on her subject too.
    const mine = await as<{ items: HandoffView[] }>(cp, 'human:alice', 'GET', '/v1/handoffs/inbox');
    expect(mine.body.items.map((x) => x.handoff_id)).toContain(h.handoff_id);
    const bobs = await as<{ items: HandoffView[] }>(cp, 'human:bob', 'GET', '/v1/handoffs/inbox');
    expect(bobs.body.items.map((x) => x.handoff_id)).not.toContain(h.handoff_id);
    await eventually(
      () => alice.offers.map((o) => o.handoff.handoff_id),
      (ids) => ids.includes(h.handoff_id),
    );
    alice.stop();
    // Share badges of the terminal show the handoff going on.
    const share = await as<{ share: { share_id: string } }>(cp, ANN, 'POST', '/v1/shares', {
      terminal_id: term.terminal_id,
    });
    const badge = (id: string) => as<{ handoff: unknown }>(cp, ANN, 'GET', `/v1/shares/${id}`);
    await eventually(
      () => badge(share.body.share.share_id),
      (b) =>
        JSON.stringify(b.body.handoff) ===
        JSON.stringify({ handoff_id: h.handoff_id, status: 'offered', from: 'ai:codex', to: 'human:alice' }),
    );

    // The agent cannot take it for the person.
    const notHers = await as(cp, 'ai:codex', 'POST', `/v1/handoffs/${h.handoff_id}/accept`, {});
    expect(CommandRejected.parse(notHers.body).error.reason).toBe('HANDOFF_NOT_RECEIVER');
    const took = await as(cp, 'human:alice', 'POST', `/v1/handoffs/${h.handoff_id}/accept`, {
      session_id: 'alice-keyboard',
    });
    expect(took.status).toBe(200);
    expect(HandoffView.parse(took.body)).toMatchObject({ status: 'completed', to_session_id: 'alice-keyboard' });
    await eventually(
      () => badge(share.body.share.share_id),
      (b) => b.body.handoff === null,
    );

    // What the terminal printed before is all there for her (the terminal's scrollback), and she types now.
    const back = await cp.ctx.store.nc.request(termSubjects.scrollback(term.terminal_id), new Uint8Array(0), {
      timeout: 5_000,
    });
    expect(new TextDecoder().decode(back.data)).toContain('agent-was-stuck-42');
    type(term.terminal_id, 'echo alice-here-$((3*3))\r', 'alice-keyboard');
    type(term.terminal_id, 'echo agent-again-$((5*5))\r', session.session_id);
    await eventually(out.text, (s) => s.includes('alice-here-9'));
    expect(out.text()).not.toContain('agent-again-25');
    out.stop();
  });
});

describe('handoff: denied', () => {
  const noContext = async (id: string) => {
    const events = await eventsOf(id);
    expect(events.map((e) => e.event.type)).not.toContain('handoff.initiated');
    expect(events.every((e) => !('context' in e.event.data))).toBe(true);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect((await view(id)).context).toBeNull();
    const files = existsSync(join(cp.home, 'handoffs')) ? readdirSync(join(cp.home, 'handoffs')) : [];
    expect(files.filter((f) => f.startsWith(id))).toEqual([]);
    return events;
  };

  it('by the policy: refused with the reason and recorded as denied; nothing captured', async () => {
    const { term } = await runningTerminal(cp);
    const r = await request(ANN, { terminal_id: term.terminal_id, to: 'service:ci' });
    expect(r.status).toBe(409);
    const err = CommandRejected.parse(r.body).error;
    expect(err).toMatchObject({ code: 'NOT_ALLOWED', reason: 'HANDOFF_DENIED' });
    expect(err.message).toMatch(/no rule allows human:ann to hand terminal .* to service:ci/);
    const h = await eventually(
      () => as<{ items: HandoffView[] }>(cp, ANN, 'GET', `/v1/handoffs?terminal_id=${term.terminal_id}`),
      (x) => x.body.items.length === 1,
    );
    expect(h.body.items[0]).toMatchObject({ status: 'denied', ended: { as: 'denied', by: 'policy' } });
    await noContext(h.body.items[0]!.handoff_id);
  });

  it('by an operator: denied with who and why, the terminal free again; nothing captured', async () => {
    const { lane, term } = await runningTerminal(cp);
    const h = HandoffView.parse((await request(ANN, { terminal_id: term.terminal_id, to: 'ai:codex' })).body);
    await eventually(
      () => as(cp, CAROL, 'GET', `/v1/approvals/${h.handoff_id}`),
      (a) => a.status === 200,
    );
    const no = await as(cp, CAROL, 'POST', `/v1/approvals/${h.handoff_id}/deny`, {
      reason: 'not during the release',
    });
    expect(no.status).toBe(200);
    const denied = await eventually(
      () => view(h.handoff_id),
      (v) => v.status === 'denied',
    );
    expect(denied.ended).toMatchObject({ as: 'denied', reason: 'denied by human:carol: not during the release' });
    const events = await noContext(h.handoff_id);
    expect(events.map((e) => e.event.type)).toEqual(['handoff.request', 'handoff.denied']);
    await eventually(
      () => terminalOf(lane.lane_id, term.terminal_id),
      (t) => t.handoff_id === null,
    );
    const audit = await eventually(
      () => auditOf(h.handoff_id),
      (a) => a.length === 2,
    );
    expect(audit[1]).toMatchObject({
      action: 'handoff.denied',
      reason: 'denied by human:carol: not during the release',
    });
    // A denied handoff is over: nobody accepts it.
    const late = await sendCommand(
      cp.ctx.store.nc,
      'handoff',
      'accept',
      {
        entityId: h.handoff_id,
        data: {},
        actor: CODEX,
      },
      { credential: await credentialOf(cp, CODEX) },
    );
    expect(late).toMatchObject({ ok: false, error: { reason: 'HANDOFF_DENIED' } });
  });
});

describe('handoff: two for one terminal', () => {
  it('race: exactly one wins, the other is refused or fails with the reason (5 rounds)', async () => {
    const { lane, term } = await runningTerminal(cp);
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([
        request(ANN, { terminal_id: term.terminal_id, to: 'human:alice' }),
        request(ANN, { terminal_id: term.terminal_id, to: 'human:bob' }),
      ]);
      const created = [a, b].filter((r) => r.status === 201).map((r) => HandoffView.parse(r.body));
      const refused = [a, b].filter((r) => r.status !== 201).map((r) => CommandRejected.parse(r.body).error);
      for (const e of refused) expect(e).toMatchObject({ code: 'NOT_ALLOWED', reason: 'TERMINAL_HANDOFF_IN_PROGRESS' });
      const settledViews = await Promise.all(
        created.map((h) =>
          eventually(
            () => view(h.handoff_id),
            (v) => v.status === 'offered' || v.status === 'failed',
          ),
        ),
      );
      const winners = settledViews.filter((v) => v.status === 'offered');
      const losers = settledViews.filter((v) => v.status === 'failed');
      expect(winners).toHaveLength(1);
      expect(losers.length + refused.length).toBe(1);
      for (const l of losers) expect(l.ended!.reason).toMatch(/is being handed over by handoff/);
      const winner = winners[0]!;
      expect((await terminalOf(lane.lane_id, term.terminal_id)).handoff_id).toBe(winner.handoff_id);
      // The winner is cancelled by its receiver, which frees the terminal for the next round.
      const receiver = winner.to;
      expect((await as(cp, receiver, 'POST', `/v1/handoffs/${winner.handoff_id}/cancel`, {})).status).toBe(200);
      await eventually(
        () => terminalOf(lane.lane_id, term.terminal_id),
        (t) => t.handoff_id === null,
      );
    }
  });
});

describe('handoff: the old writer', () => {
  it('is refused from the moment the handoff completes, however much it types; it still watches', async () => {
    const { term, session } = await runningTerminal(cp);
    const out = watch(term.terminal_id);
    type(term.terminal_id, 'echo giver-before-$((7*6))\r', session.session_id);
    await eventually(out.text, (s) => s.includes('giver-before-42'));
    const h = HandoffView.parse(
      (await request(ANN, { terminal_id: term.terminal_id, to: 'human:alice', session_id: 'alice-1' })).body,
    );
    await eventually(
      () => view(h.handoff_id),
      (v) => v.status === 'offered',
    );
    const done = HandoffView.parse(
      (await as(cp, 'human:alice', 'POST', `/v1/handoffs/${h.handoff_id}/accept`, {})).body,
    );
    expect(done.status).toBe('completed');
    for (let i = 0; i < 20; i++) type(term.terminal_id, `echo old-writer-${i}-$((i+100))\r`, session.session_id);
    type(term.terminal_id, 'echo new-writer-$((9*9))\r', 'alice-1');
    await eventually(out.text, (s) => s.includes('new-writer-81'));
    // Input is handled in arrival order: the old writer's keystrokes came first, and none of them ran.
    expect(out.text()).not.toMatch(/old-writer-\d+-1\d\d/);
    const screen = (await import('execa')).execa('tmux', [
      '-S',
      join(cp.home, 'terminals', 'tmux.sock'),
      'capture-pane',
      '-p',
      '-t',
      `=${term.terminal_id}:`,
    ]);
    expect((await screen).stdout).not.toContain('old-writer');
    out.stop();
  });
});
