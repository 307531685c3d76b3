import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { LaneView, SessionView, ShareCreated, TerminalView, type PolicyFile, type Role } from '@tether/contracts';
import { api, asActor, type Tether } from '../harness/index.ts';

/**
 * A policy file for the sharing tests: people may share, agents need an operator, services are denied
 * (no rule); a keyboard may be handed to a person.
 */
export function policyFile(
  rules: PolicyFile['rules'] = [
    { id: 'people', effect: 'allow', actors: ['human:*'] },
    {
      id: 'agents-ask',
      effect: 'allow',
      actors: ['ai:*'],
      requireApproval: true,
      reason: 'agents share only after an operator approves',
    },
    {
      id: 'no-tmate-for-eve',
      effect: 'deny',
      actors: ['human:eve'],
      backends: ['tmate'],
      reason: 'eve may not use tmate',
    },
    { id: 'handoff-to-people', effect: 'allow', actions: ['handoff'], to: ['human:*'] },
  ],
): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tether-policy-')), 'policy.json');
  writeFileSync(file, JSON.stringify({ rules }));
  return file;
}

/** The operators of the tests; other people are members, agents agents, services services. */
const OPERATORS = new Set(['human:ops', 'human:carol']);

/** The role each test actor gets. */
export const roleOf = (actor: string): Role =>
  OPERATORS.has(actor)
    ? 'operator'
    : actor.startsWith('ai:')
      ? 'agent'
      : actor.startsWith('service:')
        ? 'service'
        : 'member';

/** An HTTP call made as `actor` ("kind:id"), with a credential of its role (roleOf). */
export async function as<T = unknown>(
  t: Tether,
  actor: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  return api<T>(await asActor(t, actor, roleOf(actor)), method, path, body);
}

/** A lane, its session and a running terminal. */
export async function runningTerminal(url: Tether) {
  const lane = LaneView.parse(
    (await api(url, 'POST', '/v1/workspaces/ws1/lanes', { project_context_id: 'p', display_name: 'share' })).body,
  );
  const session = SessionView.parse(
    (await api(url, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/sessions`, { provider: 'codex' })).body,
  );
  const r = await api(url, 'POST', `/v1/workspaces/ws1/lanes/${lane.lane_id}/terminals`, {
    session_id: session.session_id,
  });
  expect(r.status).toBe(201);
  return { lane, session, term: TerminalView.parse(r.body) };
}

export async function createShare(url: Tether, actor: string, body: Record<string, unknown>) {
  const r = await as<ShareCreated & { error?: { code: string; reason?: string; message: string } }>(
    url,
    actor,
    'POST',
    '/v1/shares',
    body,
  );
  return r;
}

/** A new running terminal that alice shares for writing, with bob's link (read-only until she grants it). */
export async function writeShareForBob(t: Tether) {
  const { term, session } = await runningTerminal(t);
  const created = await createShare(t, 'human:alice', {
    terminal_id: term.terminal_id,
    access: 'write',
    participant: 'bob',
  });
  const { share, link } = ShareCreated.parse(created.body);
  return { term, session, share, link: link! };
}

/** tether configured for tmate with the NAMED FAKE tmate (tests/fakes/fake-tmate.mjs): no tmate relay can run here. */
export const fakeTmateEnv = () => ({
  TETHER_SHARE_POLICY: policyFile(),
  TETHER_TMATE_BIN: fileURLToPath(new URL('../../fakes/fake-tmate.mjs', import.meta.url)),
  TETHER_TMATE_HOST: 'relay.fake.invalid',
  TETHER_TMATE_ED25519_FINGERPRINT: 'SHA256:fake',
});

/** The token `actor` sends with (a credential of its role, roleOf), e.g. for a NATS command as that actor. */
export async function credentialOf(t: Tether, actor: { kind: string; id: string }): Promise<string> {
  const ref = `${actor.kind}:${actor.id}`;
  return (await asActor(t, ref, roleOf(ref))).token;
}
